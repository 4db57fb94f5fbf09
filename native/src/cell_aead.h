// ChaCha20-Poly1305 IETF (RFC 8439 §2.8) on cells, through OpenSSL's EVP interface: the symbols
// and headers come from Node itself (no libssl-dev). Nonce = the 12-byte cell header, no AAD,
// 16-byte tag after the ciphertext: byte-identical to src/media/crypto/cell-aead.ts and libsodium.
//
// One EVP context per thread, re-keyed per cell (ChaCha20 key setup is a copy), so a session costs
// 64 bytes of key material instead of two heap-allocated EVP contexts.
#pragma once
#include <cstddef>
#include <cstdint>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace xr {

class CellAead {
 public:
  CellAead();
  ~CellAead();
  CellAead(const CellAead&) = delete;
  CellAead& operator=(const CellAead&) = delete;

  // Seals `body` (len bytes) behind the header already written at out[0..12]; writes ciphertext
  // and tag after it. Returns false only if OpenSSL fails.
  bool Seal(const uint8_t key[32], uint8_t* out, const uint8_t* body, size_t len);
  // Opens a whole wire cell of `len` bytes (len >= 28) into `body` (len - 28 bytes). True if the
  // tag verified.
  bool Open(const uint8_t key[32], const uint8_t* cell, size_t len, uint8_t* body);

 private:
  EVP_CIPHER_CTX* enc_;
  EVP_CIPHER_CTX* dec_;
};

}  // namespace xr
