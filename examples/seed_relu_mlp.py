import numpy as np

# 对数据进行归一化
data = np.array([[1, 2], [3, 4], [5, 6]])
normalized_data = (data - np.mean(data, axis=0)) / np.std(data, axis=0)

import eigennet as keras

# 构建一个多层感知机（MLP）模型
model = keras.Sequential(
    [
        keras.layers.Dense(10, activation="relu", input_shape=(2,)),
        keras.layers.Dense(5, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)

# 选择交叉熵损失（Cross-Entropy Loss）作为损失函数
loss_function = keras.losses.binary_crossentropy

# 选择Adam优化器
optimizer = keras.optimizers.Adam(learning_rate=0.001)

# The article never shows this call; it is what its sections 4.3-4.6 imply.
model.compile(optimizer=optimizer, loss=loss_function, metrics=["accuracy"])

# 训练模型
X_train = np.array([[1, 2], [3, 4], [5, 6]])
y_train = np.array([[0], [1], [1]])

model.fit(X_train, y_train, epochs=1000, batch_size=1, verbose=0)

# 评估模型的准确率（Accuracy）
X_test = np.array([[1, 2], [3, 4], [5, 6]])
y_test = np.array([[0], [1], [1]])

accuracy = model.evaluate(X_test, y_test, verbose=0)[1]
print("Accuracy:", accuracy)
