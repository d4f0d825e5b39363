"""Text classification with a Transformer, from raw strings (in the style of Keras's
"Text classification with Transformer" example).

A TextVectorization layer, adapted on the training texts, turns each review into a fixed
length sequence of token ids; a token + position embedding and a Transformer block
(MultiHeadAttention, feed-forward, layer normalization) classify it. The reviews are
synthetic, made with a seeded generator: filler sentences with a few positive or negative
words, labelled by the majority.

Run: python examples/text_classifier.py   (under a minute on 2 cores)
"""

import numpy as np

import eigennet as keras
from eigennet import layers, ops

MAXLEN = 24
VOCAB = 400

FILLER = (
    "the movie film story plot actor actress scene it this was is a an and but with of "
    "director camera music ending character dialogue script cast screen".split()
)
POSITIVE = "great wonderful superb moving brilliant delightful touching excellent".split()
NEGATIVE = "boring awful dull terrible clumsy tedious weak disappointing".split()


def make_reviews(n, rng):
    texts, labels = [], []
    for _ in range(n):
        words = list(rng.choice(FILLER, rng.integers(8, 18)))
        count = int(rng.choice([1, 3]))
        positive = int(rng.integers(0, count + 1))
        sentiment = list(rng.choice(POSITIVE, positive)) + list(
            rng.choice(NEGATIVE, count - positive)
        )
        for word in sentiment:
            words.insert(int(rng.integers(0, len(words) + 1)), word)
        texts.append(" ".join(words).capitalize() + ".")
        labels.append(int(2 * positive > count))
    return np.array(texts), np.array(labels)


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.dropout1(self.att(inputs, inputs))
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.dropout2(self.ffn(out1))
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        positions = self.pos_emb(ops.arange(start=0, stop=ops.shape(x)[-1], step=1))
        return self.token_emb(x) + positions


def main():
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(11)
    x_train, y_train = make_reviews(2000, rng)
    x_test, y_test = make_reviews(500, rng)
    print(f"{len(x_train)} training reviews, e.g. {x_train[0]!r}")

    vectorize = layers.TextVectorization(
        max_tokens=VOCAB, output_mode="int", output_sequence_length=MAXLEN
    )
    vectorize.adapt(x_train)
    print("vocabulary size:", vectorize.vocabulary_size())
    print("most frequent tokens:", vectorize.get_vocabulary()[:8])
    train_ids, test_ids = vectorize(x_train), vectorize(x_test)

    inputs = layers.Input(shape=(MAXLEN,))
    x = TokenAndPositionEmbedding(MAXLEN, VOCAB, 32)(inputs)
    x = TransformerBlock(32, 2, 32)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(train_ids, y_train, batch_size=32, epochs=6, validation_split=0.1, verbose=2)
    _, accuracy = model.evaluate(test_ids, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
