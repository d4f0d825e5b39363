// FarmHash Fingerprint64 (Geoff Pike's farmhashna::Hash64, MIT licence) and SipHash-2-4
// (Aumasson and Bernstein), written from their published algorithms. Both read words
// little-endian whatever the host, as their reference versions define.
#include "eigennet/string_hash.hpp"

#include <cstring>
#include <utility>

namespace eigennet {

namespace {

using u64 = std::uint64_t;
using u32 = std::uint32_t;

// FarmHash's three odd constants between 2^63 and 2^64.
constexpr u64 kPrime0 = 0xc3a5c85c97cb3127ULL;
constexpr u64 kPrime1 = 0xb492b66fbe98f273ULL;
constexpr u64 kPrime2 = 0x9ae16a3b2f90404fULL;

u64 load64(const char* p) {
  unsigned char b[8];
  std::memcpy(b, p, 8);
  u64 v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

u32 load32(const char* p) {
  unsigned char b[4];
  std::memcpy(b, p, 4);
  return static_cast<u32>(b[0]) | (static_cast<u32>(b[1]) << 8) | (static_cast<u32>(b[2]) << 16) |
         (static_cast<u32>(b[3]) << 24);
}

u64 rotate_right(u64 v, int shift) { return shift == 0 ? v : (v >> shift) | (v << (64 - shift)); }

u64 rotate_left(u64 v, int shift) { return (v << shift) | (v >> (64 - shift)); }

u64 shift_mix(u64 v) { return v ^ (v >> 47); }

// Murmur-style combination of two words with a multiplier.
u64 mix16(u64 u, u64 v, u64 mul) {
  u64 a = shift_mix((u ^ v) * mul);
  u64 b = shift_mix((v ^ a) * mul);
  return b * mul;
}

u64 hash_up_to_16(const char* s, std::size_t len) {
  if (len >= 8) {
    const u64 mul = kPrime2 + len * 2;
    const u64 a = load64(s) + kPrime2;
    const u64 b = load64(s + len - 8);
    const u64 c = rotate_right(b, 37) * mul + a;
    const u64 d = (rotate_right(a, 25) + b) * mul;
    return mix16(c, d, mul);
  }
  if (len >= 4) {
    const u64 mul = kPrime2 + len * 2;
    const u64 a = load32(s);
    return mix16(len + (a << 3), load32(s + len - 4), mul);
  }
  if (len > 0) {
    const auto first = static_cast<unsigned char>(s[0]);
    const auto middle = static_cast<unsigned char>(s[len >> 1]);
    const auto last = static_cast<unsigned char>(s[len - 1]);
    const u32 y = static_cast<u32>(first) + (static_cast<u32>(middle) << 8);
    const u32 z = static_cast<u32>(len) + (static_cast<u32>(last) << 2);
    return shift_mix(y * kPrime2 ^ z * kPrime0) * kPrime2;
  }
  return kPrime2;
}

u64 hash_17_to_32(const char* s, std::size_t len) {
  const u64 mul = kPrime2 + len * 2;
  const u64 a = load64(s) * kPrime1;
  const u64 b = load64(s + 8);
  const u64 c = load64(s + len - 8) * mul;
  const u64 d = load64(s + len - 16) * kPrime2;
  return mix16(rotate_right(a + b, 43) + rotate_right(c, 30) + d,
               a + rotate_right(b + kPrime2, 18) + c, mul);
}

u64 hash_33_to_64(const char* s, std::size_t len) {
  const u64 mul = kPrime2 + len * 2;
  const u64 a = load64(s) * kPrime2;
  const u64 b = load64(s + 8);
  const u64 c = load64(s + len - 8) * mul;
  const u64 d = load64(s + len - 16) * kPrime2;
  const u64 y = rotate_right(a + b, 43) + rotate_right(c, 30) + d;
  const u64 z = mix16(y, a + rotate_right(b + kPrime2, 18) + c, mul);
  const u64 e = load64(s + 16) * mul;
  const u64 f = load64(s + 24);
  const u64 g = (y + load64(s + len - 32)) * mul;
  const u64 h = (z + load64(s + len - 24)) * mul;
  return mix16(rotate_right(e + f, 43) + rotate_right(g, 30) + h, e + rotate_right(f + a, 18) + g,
               mul);
}

struct Pair {
  u64 first, second;
};

// FarmHash's weak 128-bit hash of 32 bytes at s with seeds a and b.
Pair weak_hash32(const char* s, u64 a, u64 b) {
  const u64 w = load64(s), x = load64(s + 8), y = load64(s + 16), z = load64(s + 24);
  a += w;
  b = rotate_right(b + a + z, 21);
  const u64 c = a;
  a += x + y;
  b += rotate_right(a, 44);
  return {a + z, b + c};
}

// Inputs over 64 bytes: 64-byte blocks through a 56-byte state, then the last 64 bytes.
u64 hash_long(const char* s, std::size_t len) {
  constexpr u64 seed = 81;
  u64 x = seed;
  u64 y = seed * kPrime1 + 113;
  u64 z = shift_mix(y * kPrime2 + 113) * kPrime2;
  Pair v{0, 0}, w{0, 0};
  x = x * kPrime2 + load64(s);
  const char* end = s + ((len - 1) / 64) * 64;
  const char* last64 = s + len - 64;
  do {
    x = rotate_right(x + y + v.first + load64(s + 8), 37) * kPrime1;
    y = rotate_right(y + v.second + load64(s + 48), 42) * kPrime1;
    x ^= w.second;
    y += v.first + load64(s + 40);
    z = rotate_right(z + w.first, 33) * kPrime1;
    v = weak_hash32(s, v.second * kPrime1, x + w.first);
    w = weak_hash32(s + 32, z + w.second, y + load64(s + 16));
    std::swap(z, x);
    s += 64;
  } while (s != end);
  const u64 mul = kPrime1 + ((z & 0xff) << 1);
  s = last64;
  w.first += (len - 1) & 63;
  v.first += w.first;
  w.first += v.first;
  x = rotate_right(x + y + v.first + load64(s + 8), 37) * mul;
  y = rotate_right(y + v.second + load64(s + 48), 42) * mul;
  x ^= w.second * 9;
  y += v.first * 9 + load64(s + 40);
  z = rotate_right(z + w.first, 33) * mul;
  v = weak_hash32(s, v.second * mul, x + w.first);
  w = weak_hash32(s + 32, z + w.second, y + load64(s + 16));
  std::swap(z, x);
  return mix16(mix16(v.first, w.first, mul) + shift_mix(y) * kPrime0 + z,
               mix16(v.second, w.second, mul) + x, mul);
}

void sip_round(u64& v0, u64& v1, u64& v2, u64& v3) {
  v0 += v1;
  v1 = rotate_left(v1, 13);
  v1 ^= v0;
  v0 = rotate_left(v0, 32);
  v2 += v3;
  v3 = rotate_left(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = rotate_left(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = rotate_left(v1, 17);
  v1 ^= v2;
  v2 = rotate_left(v2, 32);
}

}  // namespace

u64 farmhash_fingerprint64(const char* data, std::size_t length) {
  if (length <= 16) return hash_up_to_16(data, length);
  if (length <= 32) return hash_17_to_32(data, length);
  if (length <= 64) return hash_33_to_64(data, length);
  return hash_long(data, length);
}

u64 siphash24(u64 key0, u64 key1, const char* data, std::size_t length) {
  u64 v0 = key0 ^ 0x736f6d6570736575ULL;
  u64 v1 = key1 ^ 0x646f72616e646f6dULL;
  u64 v2 = key0 ^ 0x6c7967656e657261ULL;
  u64 v3 = key1 ^ 0x7465646279746573ULL;
  const std::size_t full = length - length % 8;
  for (std::size_t i = 0; i < full; i += 8) {
    const u64 m = load64(data + i);
    v3 ^= m;
    sip_round(v0, v1, v2, v3);
    sip_round(v0, v1, v2, v3);
    v0 ^= m;
  }
  // The last block: the remaining bytes, the length's low byte on top.
  u64 last = static_cast<u64>(length & 0xff) << 56;
  for (std::size_t i = full; i < length; ++i)
    last |= static_cast<u64>(static_cast<unsigned char>(data[i])) << (8 * (i - full));
  v3 ^= last;
  sip_round(v0, v1, v2, v3);
  sip_round(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) sip_round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

void hash_strings(const char* data, std::size_t width, const std::int64_t* lengths,
                  std::size_t count, bool keyed, u64 key0, u64 key1, u64* out) {
  for (std::size_t i = 0; i < count; ++i) {
    const char* s = data + i * width;
    const auto n = static_cast<std::size_t>(lengths[i]);
    out[i] = keyed ? siphash24(key0, key1, s, n) : farmhash_fingerprint64(s, n);
  }
}

}  // namespace eigennet
