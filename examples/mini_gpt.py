"""A miniature GPT: a character-level transformer with causal self-attention, trained on a
small story bundled with the examples, then asked to continue a prompt.

The model is the one of keras-io's "Text generation with a miniature GPT", at character level:

    ids (context) -> token + position Embedding -> transformer blocks
    [MultiHeadAttention(use_causal_mask=True) -> Add -> LayerNorm -> Dense(relu) -> Dense
     -> Add -> LayerNorm] -> Dense(vocabulary) logits for the next character at every step

Every window of the text is a training sample: the targets are the inputs shifted by one
character. A few minutes on two cores take it from guessing (about ln(vocabulary) nats per
character) to reciting the story from a prompt.

    python examples/mini_gpt.py [--epochs 30] [--context 64] [--prompt "The keeper"]
"""

import argparse
import time
from pathlib import Path

import numpy as np

import eigennet as keras
from eigennet import layers, ops

TEXT = Path(__file__).resolve().parent / "data" / "little_lighthouse.txt"


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(0, maxlen, 1)
        return self.token_emb(x) + self.pos_emb(positions)


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.att = layers.MultiHeadAttention(num_heads, embed_dim // num_heads)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attention_output = self.att(inputs, inputs, use_causal_mask=True)
        out1 = self.layernorm1(inputs + self.dropout1(attention_output))
        ffn_output = self.ffn(out1)
        return self.layernorm2(out1 + self.dropout2(ffn_output))


def build_model(context, vocab_size, embed_dim=96, num_heads=4, ff_dim=192, blocks=2):
    inputs = keras.Input(shape=(context,), dtype="int32")
    x = TokenAndPositionEmbedding(context, vocab_size, embed_dim)(inputs)
    for _ in range(blocks):
        x = TransformerBlock(embed_dim, num_heads, ff_dim)(x)
    outputs = layers.Dense(vocab_size)(x)
    model = keras.Model(inputs, outputs, name="mini_gpt")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=2e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def windows(ids, context):
    """Every window of `context` characters, and the same windows shifted by one."""
    starts = np.arange(len(ids) - context)
    x = np.stack([ids[s : s + context] for s in starts])
    y = np.stack([ids[s + 1 : s + context + 1] for s in starts])
    return x, y


def generate(model, prompt, chars, index, context, length, temperature, rng):
    """Continues `prompt` one character at a time: the model sees the last `context`
    characters (left-padded with spaces) and the next one is drawn from its softmax."""
    text = prompt
    for _ in range(length):
        window = [index[c] for c in text[-context:]]
        window = [index[" "]] * (context - len(window)) + window
        logits = model.predict(np.array([window]), verbose=0)[0, -1]
        if temperature == 0:
            choice = int(np.argmax(logits))
        else:
            p = np.exp((logits - logits.max()) / temperature)
            choice = int(rng.choice(len(p), p=p / p.sum()))
        text += chars[choice]
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--prompt", default="The keeper")
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--verbose", default="auto")
    args = parser.parse_args()
    verbose = int(args.verbose) if args.verbose.isdigit() else args.verbose

    text = " ".join(TEXT.read_text(encoding="utf-8").split())  # one line of words
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text], dtype="int32")
    x, y = windows(ids, args.context)
    print(f"{len(text)} characters, vocabulary {len(chars)}, {len(x)} windows")

    model = build_model(args.context, len(chars))
    model.summary()
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=verbose)
    seconds = time.perf_counter() - start
    losses = history.history["loss"]
    print(f"loss per character: {losses[0]:.3f} -> {losses[-1]:.3f} nats in {seconds:.0f} s")

    rng = np.random.default_rng(0)
    sample = generate(model, args.prompt, chars, index, args.context, args.length, 0.0, rng)
    print(f"greedy: {sample}")
    sample = generate(model, args.prompt, chars, index, args.context, args.length, 0.8, rng)
    print(f"sampled (temperature 0.8): {sample}")


if __name__ == "__main__":
    main()
