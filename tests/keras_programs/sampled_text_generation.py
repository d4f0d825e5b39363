"""Sampling strategies for a small language model, in the style of keras-io's "Text
generation with a miniature GPT" and its sampling guide: a pre-norm Transformer block with
`RMSNormalization` and a causal `MultiHeadAttention`, trained on next-token prediction; then
greedy decoding (argmax), and top-k sampling (`ops.top_k` of the logits, one draw with
`keras.random.categorical` from a `SeedGenerator`).

The "language" is synthetic: after each token comes one of two others, the first three
times in four. A trained model must generate only allowed pairs; greedy decoding must always
take the likelier one, top-2 sampling each about as often as the language does."""

import numpy as np

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(3)
rng = np.random.default_rng(3)

vocab_size, seq_len, embed_dim = 12, 12, 32
likely = rng.permutation(vocab_size)
rare = (likely + 1 + rng.integers(0, vocab_size - 2, vocab_size)) % vocab_size
rare = np.where(rare == likely, (rare + 1) % vocab_size, rare)


def sentences(n):
    out = np.empty((n, seq_len + 1), dtype="int32")
    out[:, 0] = rng.integers(0, vocab_size, n)
    for t in range(seq_len):
        take_likely = rng.uniform(size=n) < 0.75
        out[:, t + 1] = np.where(take_likely, likely[out[:, t]], rare[out[:, t]])
    return out


data = sentences(3000)
x, y = data[:, :-1], data[:, 1:]


class PositionalEmbedding(layers.Layer):
    def __init__(self, vocab_size, maxlen, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.token = layers.Embedding(vocab_size, embed_dim)
        self.position = layers.Embedding(maxlen, embed_dim)

    def call(self, tokens):
        positions = ops.arange(0, ops.shape(tokens)[-1])
        return self.token(tokens) + self.position(positions)


class PreNormBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, **kwargs):
        super().__init__(**kwargs)
        self.norm1 = layers.RMSNormalization()
        self.attention = layers.MultiHeadAttention(num_heads, embed_dim // num_heads)
        self.norm2 = layers.RMSNormalization()
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="gelu"), layers.Dense(embed_dim)]
        )

    def call(self, x):
        h = self.norm1(x)
        x = x + self.attention(h, h, use_causal_mask=True)
        return x + self.ffn(self.norm2(x))


inputs = keras.Input(shape=(seq_len,), dtype="int32")
h = PositionalEmbedding(vocab_size, seq_len, embed_dim)(inputs)
h = PreNormBlock(embed_dim, num_heads=2, ff_dim=64)(h)
logits = layers.Dense(vocab_size)(layers.RMSNormalization()(h))
model = keras.Model(inputs, logits)
model.compile(
    optimizer=keras.optimizers.Adam(3e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
)
history = model.fit(x, y, batch_size=64, epochs=8, verbose=0)
loss = history.history["loss"]
best = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))  # the language's own entropy
print(f"loss {loss[0]:.3f} -> {loss[-1]:.3f} (the language's entropy: {best:.3f})")
assert loss[-1] < best + 0.1, loss


def generate(prompt_token, steps, choose):
    tokens = [prompt_token]
    for _ in range(steps):
        window = np.zeros((1, seq_len), dtype="int32")
        window[0, : len(tokens)] = tokens[-seq_len:]
        step_logits = model.predict(window, verbose=0)[0, len(tokens[-seq_len:]) - 1]
        tokens.append(int(choose(step_logits)))
    return tokens


def greedy(step_logits):
    return ops.convert_to_numpy(ops.argmax(step_logits))


seeds = keras.random.SeedGenerator(7)


def top_k_sample(step_logits, k=2):
    top_logits, top_indices = ops.top_k(step_logits[None, :], k=k)
    pick = keras.random.categorical(top_logits, 1, seed=seeds)
    return ops.convert_to_numpy(top_indices)[0, int(ops.convert_to_numpy(pick)[0, 0])]


greedy_tokens = generate(0, seq_len - 1, greedy)
assert all(b == likely[a] for a, b in zip(greedy_tokens, greedy_tokens[1:])), greedy_tokens

pairs = []
for start in range(vocab_size):
    sampled = generate(start, seq_len - 1, top_k_sample)
    pairs += list(zip(sampled, sampled[1:]))
allowed = np.mean([b in (likely[a], rare[a]) for a, b in pairs])
share_likely = np.mean([b == likely[a] for a, b in pairs])
print(f"top-2 sampling: {len(pairs)} pairs, allowed {allowed:.2f}, likely {share_likely:.2f}")
assert allowed == 1.0, allowed
assert 0.6 < share_likely < 0.9, share_likely
print("OK")
