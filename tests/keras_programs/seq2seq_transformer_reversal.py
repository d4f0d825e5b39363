"""Sequence-to-sequence Transformer, in the style of keras-io's "English-to-Spanish translation
with a sequence-to-sequence Transformer": a PositionalEmbedding layer that makes a padding mask
(`compute_mask`), a TransformerEncoder and a TransformerDecoder (causal self-attention, then
cross-attention on the encoder's outputs) written as custom layers that take Keras masks, the
decoder fed the target shifted by one (teacher forcing), and greedy decoding afterwards.

The "translation" is synthetic: a source sentence of word ids 3..(vocab-1) of random length
(0 pads the end) translates into the same words reversed, between a start token (1) and an
end token (2). The inputs have `shape=(None,)`, sequences of any length, as in keras-io."""

import numpy as np

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(1)

vocab_size = 20
sequence_length = 10  # the source; the target has the start and end tokens on top
embed_dim = 32
latent_dim = 64
num_heads = 2
START, END = 1, 2


def make_pairs(n, rng):
    source = np.zeros((n, sequence_length), dtype="int32")
    target = np.zeros((n, sequence_length + 2), dtype="int32")
    for i in range(n):
        length = rng.integers(3, sequence_length + 1)
        words = rng.integers(3, vocab_size, size=length)
        source[i, :length] = words
        target[i, : length + 2] = [START, *words[::-1], END]
    return source, target


class TransformerEncoder(layers.Layer):
    def __init__(self, embed_dim, dense_dim, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = embed_dim
        self.dense_dim = dense_dim
        self.num_heads = num_heads
        self.attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.dense_proj = keras.Sequential(
            [layers.Dense(dense_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm_1 = layers.LayerNormalization()
        self.layernorm_2 = layers.LayerNormalization()
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            padding_mask = ops.cast(mask[:, None, :], dtype="int32")
        else:
            padding_mask = None
        attention_output = self.attention(
            query=inputs, value=inputs, key=inputs, attention_mask=padding_mask
        )
        proj_input = self.layernorm_1(inputs + attention_output)
        proj_output = self.dense_proj(proj_input)
        return self.layernorm_2(proj_input + proj_output)


class PositionalEmbedding(layers.Layer):
    def __init__(self, sequence_length, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.token_embeddings = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.position_embeddings = layers.Embedding(input_dim=sequence_length, output_dim=embed_dim)
        self.sequence_length = sequence_length
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim

    def call(self, inputs):
        length = ops.shape(inputs)[-1]
        positions = ops.arange(0, length, 1)
        embedded_tokens = self.token_embeddings(inputs)
        embedded_positions = self.position_embeddings(positions)
        return embedded_tokens + embedded_positions

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0)


class TransformerDecoder(layers.Layer):
    def __init__(self, embed_dim, latent_dim, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = embed_dim
        self.latent_dim = latent_dim
        self.num_heads = num_heads
        self.attention_1 = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.attention_2 = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.dense_proj = keras.Sequential(
            [layers.Dense(latent_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm_1 = layers.LayerNormalization()
        self.layernorm_2 = layers.LayerNormalization()
        self.layernorm_3 = layers.LayerNormalization()
        self.supports_masking = True

    def call(self, inputs, mask=None):
        inputs, encoder_outputs = inputs
        causal_mask = self.get_causal_attention_mask(inputs)
        if mask is None:
            inputs_padding_mask, encoder_outputs_padding_mask = None, None
        else:
            inputs_padding_mask, encoder_outputs_padding_mask = mask
        attention_output_1 = self.attention_1(
            query=inputs,
            value=inputs,
            key=inputs,
            attention_mask=causal_mask,
            query_mask=inputs_padding_mask,
        )
        out_1 = self.layernorm_1(inputs + attention_output_1)
        attention_output_2 = self.attention_2(
            query=out_1,
            value=encoder_outputs,
            key=encoder_outputs,
            query_mask=inputs_padding_mask,
            key_mask=encoder_outputs_padding_mask,
        )
        out_2 = self.layernorm_2(out_1 + attention_output_2)
        proj_output = self.dense_proj(out_2)
        return self.layernorm_3(out_2 + proj_output)

    def get_causal_attention_mask(self, inputs):
        input_shape = ops.shape(inputs)
        batch_size, sequence_length = input_shape[0], input_shape[1]
        i = ops.arange(sequence_length)[:, None]
        j = ops.arange(sequence_length)
        mask = ops.cast(i >= j, dtype="int32")
        mask = ops.reshape(mask, (1, input_shape[1], input_shape[1]))
        mult = ops.concatenate(
            [ops.expand_dims(batch_size, -1), ops.convert_to_tensor([1, 1])],
            axis=0,
        )
        return ops.tile(mask, mult)


encoder_inputs = keras.Input(shape=(None,), dtype="int64", name="encoder_inputs")
x = PositionalEmbedding(sequence_length, vocab_size, embed_dim)(encoder_inputs)
encoder_outputs = TransformerEncoder(embed_dim, latent_dim, num_heads)(x)
encoder = keras.Model(encoder_inputs, encoder_outputs)

decoder_inputs = keras.Input(shape=(None,), dtype="int64", name="decoder_inputs")
x = PositionalEmbedding(sequence_length + 1, vocab_size, embed_dim)(decoder_inputs)
x = TransformerDecoder(embed_dim, latent_dim, num_heads)([x, encoder_outputs])
x = layers.Dropout(0.3)(x)
decoder_outputs = layers.Dense(vocab_size, activation="softmax")(x)
transformer = keras.Model(
    {"encoder_inputs": encoder_inputs, "decoder_inputs": decoder_inputs},
    decoder_outputs,
    name="transformer",
)

rng = np.random.default_rng(1)
source, target = make_pairs(4000, rng)
inputs = {"encoder_inputs": source, "decoder_inputs": target[:, :-1]}
transformer.compile("rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = transformer.fit(inputs, target[:, 1:], batch_size=64, epochs=15, verbose=0)
print("accuracy per epoch:", np.round(history.history["accuracy"], 3))


def decode_sequence(sentence):
    """Greedy decoding, the decoder fed what it produced so far (a sequence growing by one
    token per step: each step a new length)."""
    decoded = [START]
    for _ in range(sequence_length + 1):
        predictions = transformer(
            {"encoder_inputs": sentence[None], "decoder_inputs": np.array([decoded])}
        )
        token = int(np.argmax(ops.convert_to_numpy(predictions)[0, -1, :]))
        decoded.append(token)
        if token == END:
            break
    return decoded


test_source, test_target = make_pairs(20, np.random.default_rng(2))
correct = 0
for sentence, expected in zip(test_source, test_target):
    decoded = decode_sequence(sentence)
    correct += decoded == [int(t) for t in expected[: len(decoded)]] and decoded[-1] == END
print(f"{correct} of 20 test sentences decoded exactly")
assert correct >= 14, correct
print("OK")
