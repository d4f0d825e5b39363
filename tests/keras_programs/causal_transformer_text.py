"""Next-token prediction with a causal Transformer block, in the style of keras-io's "Text
generation with a miniature GPT": the causal mask built with `ops.arange`, a comparison and
`ops.tile` by the batch size, a token and position embedding layer, and generation one token at
a time from a prompt. The inputs have `shape=(None,)`, so the model reads prompts of any length.

The "text" is synthetic: words of a small vocabulary following a fixed cycle, so each token
determines the next one once the model has seen it."""

import numpy as np

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(5)

vocab_size, maxlen, embed_dim, num_heads, feed_forward_dim = 24, 16, 32, 2, 64
cycle = np.random.default_rng(5).permutation(vocab_size)
successor = np.empty(vocab_size, dtype="int64")
successor[cycle] = np.roll(cycle, -1)


def causal_attention_mask(batch_size, n_dest, n_src, dtype):
    """Ones below the diagonal of the (n_dest, n_src) matrix, one per sample."""
    i = ops.arange(n_dest)[:, None]
    j = ops.arange(n_src)
    m = i >= j - n_src + n_dest
    mask = ops.cast(m, dtype)
    mask = ops.reshape(mask, [1, n_dest, n_src])
    mult = ops.concatenate([ops.expand_dims(batch_size, -1), ops.convert_to_tensor([1, 1])], 0)
    return ops.tile(mask, mult)


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads, embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        input_shape = ops.shape(inputs)
        batch_size = input_shape[0]
        seq_len = input_shape[1]
        causal_mask = causal_attention_mask(batch_size, seq_len, seq_len, "bool")
        attention_output = self.att(inputs, inputs, attention_mask=causal_mask)
        attention_output = self.dropout1(attention_output)
        out1 = self.layernorm1(inputs + attention_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(0, maxlen, 1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


def create_model():
    inputs = layers.Input(shape=(None,), dtype="int32")
    embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
    x = embedding_layer(inputs)
    transformer_block = TransformerBlock(embed_dim, num_heads, feed_forward_dim)
    x = transformer_block(x)
    outputs = layers.Dense(vocab_size)(x)
    model = keras.Model(inputs=inputs, outputs=[outputs, x])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile("adam", loss=[loss_fn, None])  # no loss on the block's output
    return model


rng = np.random.default_rng(6)
starts = rng.integers(0, vocab_size, 3000)
text = np.empty((3000, maxlen + 1), dtype="int64")
text[:, 0] = starts
for t in range(1, maxlen + 1):
    text[:, t] = successor[text[:, t - 1]]
x_train, y_train = text[:, :-1], text[:, 1:]

model = create_model()
history = model.fit(x_train, y_train, batch_size=64, epochs=6, verbose=0)
print("loss per epoch:", np.round(history.history["loss"], 3))
assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]


def generate(prompt, tokens):
    """Greedy generation: the model reads the prompt, then everything it wrote."""
    sequence = list(prompt)
    for _ in range(tokens):
        logits, _ = model.predict(np.array([sequence[-maxlen:]]), verbose=0)
        sequence.append(int(np.argmax(logits[0, -1])))
    return sequence


correct = 0
for first in range(vocab_size):
    prompt = [first, int(successor[first])]  # a prompt of 2 tokens, then 3, 4, ...
    generated = generate(prompt, 8)
    expected = [first]
    for _ in range(len(generated) - 1):
        expected.append(int(successor[expected[-1]]))
    correct += generated == expected
print(f"{correct} of {vocab_size} generations follow the cycle")
assert correct >= vocab_size - 2, correct
print("OK")
