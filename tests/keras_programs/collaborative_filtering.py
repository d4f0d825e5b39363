"""Collaborative filtering in the style of keras-io's movie recommender: a subclassed model
embeds users and movies, scores a (user, movie) pair with `ops.tensordot(user, movie, 2)` plus
per-user and per-movie biases, and learns ratings scaled to [0, 1] with a sigmoid.

The ratings are synthetic: every user and movie has a hidden taste vector, and a rating is a
noisy function of their dot product. As in the keras-io example, `tensordot(..., 2)` contracts
the batch axis too (a batch-wide term added to every pair); the biases carry the per-pair
signal. The model must rank each user's liked movies above the disliked ones.
"""

import numpy as np

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(5)
rng = np.random.default_rng(5)
num_users, num_movies, taste = 60, 40, 3
user_taste = rng.normal(size=(num_users, taste))
movie_taste = rng.normal(size=(num_movies, taste))
movie_quality = rng.normal(size=num_movies)

pairs = np.stack(
    [rng.integers(0, num_users, 6000), rng.integers(0, num_movies, 6000)], axis=1
).astype("int64")
scores = np.sum(user_taste[pairs[:, 0]] * movie_taste[pairs[:, 1]], axis=1)
scores += 1.5 * movie_quality[pairs[:, 1]] + 0.3 * rng.normal(size=len(pairs))
ratings = (scores - scores.min()) / (scores.max() - scores.min())


class RecommenderNet(keras.Model):
    def __init__(self, num_users, num_movies, embedding_size, **kwargs):
        super().__init__(**kwargs)
        self.user_embedding = layers.Embedding(
            num_users,
            embedding_size,
            embeddings_initializer="he_normal",
            embeddings_regularizer=keras.regularizers.l2(1e-6),
        )
        self.user_bias = layers.Embedding(num_users, 1)
        self.movie_embedding = layers.Embedding(
            num_movies,
            embedding_size,
            embeddings_initializer="he_normal",
            embeddings_regularizer=keras.regularizers.l2(1e-6),
        )
        self.movie_bias = layers.Embedding(num_movies, 1)

    def call(self, inputs):
        user_vector = self.user_embedding(inputs[:, 0])
        user_bias = self.user_bias(inputs[:, 0])
        movie_vector = self.movie_embedding(inputs[:, 1])
        movie_bias = self.movie_bias(inputs[:, 1])
        dot_user_movie = ops.tensordot(user_vector, movie_vector, 2)
        x = dot_user_movie + user_bias + movie_bias
        return ops.nn.sigmoid(x)


model = RecommenderNet(num_users, num_movies, 8)
model.compile(
    loss=keras.losses.BinaryCrossentropy(),
    optimizer=keras.optimizers.Adam(learning_rate=0.01),
)
split = 5000
history = model.fit(
    x=pairs[:split],
    y=ratings[:split],
    batch_size=64,
    epochs=8,
    verbose=0,
    validation_data=(pairs[split:], ratings[split:]),
)
assert history.history["val_loss"][-1] < history.history["val_loss"][0], history.history

# Each movie's predicted appeal (averaged over users) should follow its hidden quality.
grid = np.stack(np.meshgrid(np.arange(num_users), np.arange(num_movies), indexing="ij"), -1)
predicted = model.predict(grid.reshape(-1, 2), batch_size=num_movies, verbose=0)
appeal = predicted.reshape(num_users, num_movies).mean(axis=0)
correlation = np.corrcoef(appeal, movie_quality)[0, 1]
print(f"correlation of predicted appeal with movie quality {correlation:.2f}")
assert correlation > 0.8, correlation
print("OK")
