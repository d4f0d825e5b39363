import eigennet as keras
import numpy as np

# 初始化参数
learning_rate = 0.01
num_iterations = 1000
input_data = np.array([[1, 2], [2, 3], [3, 4], [4, 5]])
target_data = np.array([2, 3, 4, 5])

# 定义模型
model = keras.Sequential([keras.layers.Dense(units=1, input_shape=(2,))])

# 编译模型
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate),
    loss="mean_squared_error",
    metrics=["mean_absolute_error"],
)

# 训练模型
model.fit(input_data, target_data, epochs=num_iterations)

# 预测结果
predictions = model.predict(input_data)
print(predictions)

# 计算损失函数值
loss = model.evaluate(input_data, target_data)
print(loss)
