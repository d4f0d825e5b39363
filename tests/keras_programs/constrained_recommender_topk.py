"""Collaborative filtering in the style of keras-io's "Collaborative Filtering for Movie
Recommendations": user and item embeddings whose dot product predicts a rating, here kept
non-negative (`embeddings_constraint=NonNeg()`, a non-negative factorization), a bias tower with
a max-norm constraint and an activation function of our own, Pearson correlation as a metric,
and the top-5 recommendations of each user read with `ops.top_k`.

The ratings are synthetic: every user and item has three non-negative tastes, and a rating is
their dot product plus noise."""

import numpy as np

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(11)
rng = np.random.default_rng(11)

num_users, num_items, factors = 60, 40, 3
user_taste = rng.gamma(2.0, 0.5, size=(num_users, factors))
item_taste = rng.gamma(2.0, 0.5, size=(num_items, factors))
scores = user_taste @ item_taste.T  # the truth behind the ratings
pairs = np.array([(u, i) for u in range(num_users) for i in range(num_items)])
rng.shuffle(pairs)
ratings = scores[pairs[:, 0], pairs[:, 1]] + rng.normal(0, 0.1, size=len(pairs))
split = int(0.8 * len(pairs))
x_train, x_val = pairs[:split], pairs[split:]
y_train, y_val = ratings[:split].astype("float32"), ratings[split:].astype("float32")


@keras.saving.register_keras_serializable(package="recommender")
def soft_rating(x):
    """A smooth, non-negative output: ratings are never below zero."""
    return ops.softplus(x) * 1.5


class RecommenderNet(keras.Model):
    def __init__(self, num_users, num_items, embedding_size, **kwargs):
        super().__init__(**kwargs)
        self.user_embedding = layers.Embedding(
            num_users,
            embedding_size,
            embeddings_initializer=keras.initializers.RandomUniform(0.0, 0.5),
            embeddings_constraint=keras.constraints.NonNeg(),
        )
        self.item_embedding = layers.Embedding(
            num_items,
            embedding_size,
            embeddings_initializer=keras.initializers.RandomUniform(0.0, 0.5),
            embeddings_constraint=keras.constraints.NonNeg(),
        )
        self.bias_tower = layers.Dense(
            1, kernel_constraint=keras.constraints.MaxNorm(0.5), activation="tanh"
        )
        self.out = layers.Dense(1, activation=soft_rating)

    def call(self, inputs):
        user = self.user_embedding(inputs[:, 0])
        item = self.item_embedding(inputs[:, 1])
        dot = ops.sum(user * item, axis=1, keepdims=True)
        bias = self.bias_tower(ops.concatenate([user, item], axis=1))
        return self.out(ops.concatenate([dot, bias], axis=1))


model = RecommenderNet(num_users, num_items, embedding_size=4)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=0.02),
    loss="mse",
    metrics=[keras.metrics.PearsonCorrelation(axis=0)],
)
history = model.fit(
    x_train,
    y_train[:, None],
    batch_size=64,
    epochs=30,
    validation_data=(x_val, y_val[:, None]),
    verbose=0,
)
losses = history.history["loss"]
print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, val_loss {history.history['val_loss'][-1]:.3f}")
assert losses[-1] < 0.2 * losses[0], losses
assert history.history["val_loss"][-1] < 0.3 * np.var(y_val), history.history["val_loss"]

# The constraints held through training.
user_table = model.user_embedding.get_weights()[0]
item_table = model.item_embedding.get_weights()[0]
assert user_table.min() >= 0 and item_table.min() >= 0
kernel = model.bias_tower.get_weights()[0]
assert np.sqrt((kernel**2).sum(axis=0)).max() <= 0.5 + 1e-5

# Recommend: every item scored for every user, the top 5 read with ops.top_k.
grid = np.array([(u, i) for u in range(num_users) for i in range(num_items)])
predicted = model.predict(grid, batch_size=512, verbose=0).reshape(num_users, num_items)
top_scores, top_items = ops.top_k(predicted, k=5)
top_items = ops.convert_to_numpy(top_items)
true_top = np.argsort(-scores, axis=1)[:, :10]
hits = np.mean([len(set(top_items[u]) & set(true_top[u])) / 5 for u in range(num_users)])
print(f"share of the recommended top 5 among the true top 10: {hits:.2f}")
assert hits > 0.7, hits
assert np.all(np.diff(ops.convert_to_numpy(top_scores), axis=1) <= 0)

correlation = np.corrcoef(predicted.ravel(), scores.ravel())[0, 1]
print(f"correlation of predicted and true scores: {correlation:.3f}")
assert correlation > 0.95, correlation
print("OK")
