import eigennet as keras
import numpy as np

# 初始化参数
learning_rate = 0.1
num_iterations = 1000
input_data = np.array([[1, 2, 3, 4]])
target_data = np.array([1])

# 定义模型
model = keras.Sequential(
    [
        keras.layers.Dense(2, activation="sigmoid", input_shape=(4,)),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)

# 编译模型
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=["accuracy"]
)

# 训练模型
model.fit(input_data, target_data, epochs=num_iterations)

# 预测结果
predictions = model.predict(input_data)
print(predictions)

# 计算损失函数值
loss = model.evaluate(input_data, target_data)
print(loss)
