"""Text classification with a Transformer, in the style of keras-io's example of that name:
token and position embeddings, a TransformerBlock custom layer around
`layers.MultiHeadAttention`, global average pooling, dropout and a softmax classifier.

The "reviews" are synthetic sequences of word ids (0 pads the end): neutral filler with 1, 3
or 5 sentiment words; a review is positive when most of its sentiment words are positive."""

import os
import tempfile

import numpy as np

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(7)

VOCAB_SIZE = 200  # 0 padding, 1..20 positive words, 21..40 negative words, the rest filler
MAXLEN = 24
POSITIVE, NEGATIVE = np.arange(1, 21), np.arange(21, 41)


def make_reviews(n, rng):
    x = np.zeros((n, MAXLEN), dtype="int32")
    y = np.zeros(n, dtype="int32")
    for i in range(n):
        length = rng.integers(8, MAXLEN + 1)
        words = rng.integers(41, VOCAB_SIZE, size=length)
        count = rng.choice([1, 3, 5])
        positive = rng.integers(0, count + 1)
        sentiment = np.concatenate(
            [rng.choice(POSITIVE, positive), rng.choice(NEGATIVE, count - positive)]
        )
        words[rng.choice(length, size=count, replace=False)] = sentiment
        x[i, :length] = words
        y[i] = int(2 * positive > count)
    return x, y


@keras.saving.register_keras_serializable(package="text_classifier")
class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.num_heads, self.ff_dim, self.rate = embed_dim, num_heads, ff_dim, rate
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)

    def get_config(self):
        config = super().get_config()
        config.update(embed_dim=self.embed_dim, num_heads=self.num_heads,
                      ff_dim=self.ff_dim, rate=self.rate)  # fmt: skip
        return config


@keras.saving.register_keras_serializable(package="text_classifier")
class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.maxlen, self.vocab_size, self.embed_dim = maxlen, vocab_size, embed_dim
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions

    def get_config(self):
        config = super().get_config()
        config.update(maxlen=self.maxlen, vocab_size=self.vocab_size, embed_dim=self.embed_dim)
        return config


rng = np.random.default_rng(7)
x_train, y_train = make_reviews(3000, rng)
x_val, y_val = make_reviews(600, rng)

embed_dim = 32  # Embedding size for each token
num_heads = 2  # Number of attention heads
ff_dim = 32  # Hidden layer size in feed forward network inside transformer

inputs = layers.Input(shape=(MAXLEN,))
embedding_layer = TokenAndPositionEmbedding(MAXLEN, VOCAB_SIZE, embed_dim)
x = embedding_layer(inputs)
transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim)
x = transformer_block(x)
x = layers.GlobalAveragePooling1D()(x)
x = layers.Dropout(0.1)(x)
x = layers.Dense(20, activation="relu")(x)
x = layers.Dropout(0.1)(x)
outputs = layers.Dense(2, activation="softmax")(x)

model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=2e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(
    x_train, y_train, batch_size=32, epochs=12, validation_data=(x_val, y_val), verbose=0
)
val_accuracy = history.history["val_accuracy"][-1]
print("validation accuracy per epoch:", np.round(history.history["val_accuracy"], 3))
assert val_accuracy > 0.9, val_accuracy

# the attention weights of the trained block: shape (batch, heads, queries, keys)
embedded = embedding_layer(inputs)
_, attention_scores = transformer_block.att(embedded, embedded, return_attention_scores=True)
scores = keras.Model(inputs, attention_scores).predict(x_val[:4], verbose=0)
assert scores.shape == (4, num_heads, MAXLEN, MAXLEN)
np.testing.assert_allclose(scores.sum(axis=-1), 1.0, rtol=1e-4)

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "text_classifier.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        reloaded.predict(x_val, verbose=0), model.predict(x_val, verbose=0), rtol=1e-4, atol=1e-5
    )
print("OK")
