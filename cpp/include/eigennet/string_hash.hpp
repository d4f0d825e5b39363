// The two string hashes TensorFlow uses for Keras's Hashing layer, so eigennet's bins equal
// Keras's: FarmHash's Fingerprint64 (farmhashna::Hash64, `tf.strings.to_hash_bucket_fast`)
// and SipHash-2-4 keyed by two 64-bit words (`tf.strings.to_hash_bucket_strong`).
#pragma once

#include <cstddef>
#include <cstdint>

namespace eigennet {

// FarmHash Fingerprint64 of `length` bytes (stable across platforms and versions).
std::uint64_t farmhash_fingerprint64(const char* data, std::size_t length);

// SipHash-2-4 of `length` bytes with the 128-bit key (key0, key1).
std::uint64_t siphash24(std::uint64_t key0, std::uint64_t key1, const char* data,
                        std::size_t length);

// Hashes `count` byte strings stored in fixed-width rows of `width` bytes (string i starts at
// data + i * width and has lengths[i] <= width bytes) into out[i]. With `keyed`, SipHash with
// (key0, key1); otherwise Fingerprint64.
void hash_strings(const char* data, std::size_t width, const std::int64_t* lengths,
                  std::size_t count, bool keyed, std::uint64_t key0, std::uint64_t key1,
                  std::uint64_t* out);

}  // namespace eigennet
