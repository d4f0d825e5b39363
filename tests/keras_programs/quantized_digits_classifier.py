"""Post-training int8 quantization of a digits classifier (scikit-learn's 8x8 digits).

An MLP is trained in float32, then `model.quantize("int8")` turns its Dense kernels into int8
with per-channel scales: predictions keep their argmax, the model evaluates as before, the
`.keras` file holds the int8 kernels and loads back to the same predictions, and a short
fine-tuning afterwards trains the biases only (the quantized kernels stay as they are).
"""

import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(0)
digits = load_digits()
x = (digits.data / 16.0).astype("float32")
x_train, x_test, y_train, y_test = train_test_split(
    x, digits.target, test_size=0.25, random_state=0
)

model = keras.Sequential(
    [
        keras.Input((64,)),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.1),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=30, batch_size=32, verbose=0)
_, float_accuracy = model.evaluate(x_test, y_test, verbose=0)
float_classes = model.predict(x_test, verbose=0).argmax(-1)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Dropout (and Keras's InputLayer) have no quantize()
    model.quantize("int8")
dense = model.layers[0]
kernel_dtypes = {w.name.split("/")[-1]: str(w.dtype) for w in dense.weights}
print("quantized weights:", kernel_dtypes)
assert kernel_dtypes["kernel"] == "int8" and kernel_dtypes["kernel_scale"] == "float32"

int8_classes = model.predict(x_test, verbose=0).argmax(-1)
agreement = float((int8_classes == float_classes).mean())
_, int8_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"accuracy float32 {float_accuracy:.4f}, int8 {int8_accuracy:.4f}; agreement {agreement:.4f}")
assert float_accuracy > 0.93
assert agreement >= 0.99
assert abs(int8_accuracy - float_accuracy) < 0.02

model.save("digits_int8.keras")
restored = keras.models.load_model("digits_int8.keras")
np.testing.assert_allclose(
    restored.predict(x_test, verbose=0), model.predict(x_test, verbose=0), atol=1e-6
)

# Fine-tuning after quantization: the biases train, the int8 kernels do not.
kernel_before = np.asarray(dense.kernel.numpy()).copy()
bias_before = np.asarray(dense.bias.numpy()).copy()
model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=2, batch_size=32, verbose=0)
assert np.array_equal(np.asarray(dense.kernel.numpy()), kernel_before)
assert not np.allclose(np.asarray(dense.bias.numpy()), bias_before)
_, tuned_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"after bias fine-tuning: accuracy {tuned_accuracy:.4f}")
assert tuned_accuracy > 0.9
print("OK")
