"""A GAN that learns a 2-D distribution: eight Gaussians on a ring.

The Keras pattern: compile the discriminator, freeze it, stack it on the generator and
compile the stack. Keras 3 (and eigennet) read `trainable` at every step, so the loop unfreezes
the discriminator for its own step and freezes it again for the generator's.

    python examples/gan.py [--steps 3000] [--out gan.png]

Prints how many of the eight modes the generator covers and saves a PNG of real vs
generated samples (needs matplotlib: pip install "eigennet[examples]").
"""

import argparse

import numpy as np

import eigennet as keras
from eigennet import layers

MODES, RADIUS, SPREAD, LATENT = 8, 2.0, 0.05, 8


def real_samples(rng, n):
    angle = 2 * np.pi * rng.integers(MODES, size=n) / MODES
    centers = RADIUS * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return (centers + SPREAD * rng.normal(size=(n, 2))).astype("float32")


def build_models():
    generator = keras.Sequential(
        [
            keras.Input(shape=(LATENT,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(64, activation="relu"),
            layers.Dense(2),
        ],
        name="generator",
    )
    discriminator = keras.Sequential(
        [
            keras.Input(shape=(2,)),
            layers.Dense(64, activation="leaky_relu"),
            layers.Dense(64, activation="leaky_relu"),
            layers.Dense(1, activation="sigmoid"),
        ],
        name="discriminator",
    )
    discriminator.compile(
        optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5), loss="binary_crossentropy"
    )
    discriminator.trainable = False
    gan = keras.Sequential([generator, discriminator], name="gan")
    gan.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5), loss="binary_crossentropy")
    return generator, discriminator, gan


def modes_covered(samples):
    """Modes with at least 2 % of the samples within 4 standard deviations of their centre."""
    angle = 2 * np.pi * np.arange(MODES) / MODES
    centers = RADIUS * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    distance = np.linalg.norm(samples[:, None, :] - centers[None], axis=2)
    near = distance.min(axis=1) < 4 * SPREAD
    counts = np.bincount(distance.argmin(axis=1)[near], minlength=MODES)
    return int((counts >= 0.02 * len(samples)).sum()), float(near.mean())


def save_png(real, fake, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(real[:, 0], real[:, 1], s=4, alpha=0.4, label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=4, alpha=0.4, label="generated")
    ax.set_aspect("equal")
    ax.legend(loc="upper right")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--out", default="gan.png")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    generator, discriminator, gan = build_models()
    half = args.batch_size // 2
    labels = np.concatenate([np.ones((half, 1)), np.zeros((half, 1))]).astype("float32")
    for step in range(1, args.steps + 1):
        fake = generator.predict(rng.normal(size=(half, LATENT)).astype("float32"), verbose=0)
        discriminator.trainable = True
        d_loss = discriminator.train_on_batch(
            np.concatenate([real_samples(rng, half), fake]), labels
        )
        discriminator.trainable = False
        noise = rng.normal(size=(args.batch_size, LATENT)).astype("float32")
        g_loss = gan.train_on_batch(noise, np.ones((args.batch_size, 1), dtype="float32"))
        if step % max(1, args.steps // 5) == 0:
            print(f"step {step}: discriminator loss {d_loss:.3f}, generator loss {g_loss:.3f}")

    fake = generator.predict(rng.normal(size=(2000, LATENT)).astype("float32"), verbose=0)
    covered, near = modes_covered(fake)
    print(f"modes covered: {covered} of {MODES}; samples near a mode: {near:.2f}")
    save_png(real_samples(rng, 2000), fake, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
