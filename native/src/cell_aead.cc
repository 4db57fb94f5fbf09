// See cell_aead.h.
#include "cell_aead.h"

#include <openssl/evp.h>

#include "cell_codec.h"

namespace xr {

CellAead::CellAead() : enc_(EVP_CIPHER_CTX_new()), dec_(EVP_CIPHER_CTX_new()) {
  EVP_EncryptInit_ex(enc_, EVP_chacha20_poly1305(), nullptr, nullptr, nullptr);
  EVP_DecryptInit_ex(dec_, EVP_chacha20_poly1305(), nullptr, nullptr, nullptr);
}

CellAead::~CellAead() {
  EVP_CIPHER_CTX_free(enc_);
  EVP_CIPHER_CTX_free(dec_);
}

bool CellAead::Seal(const uint8_t key[32], uint8_t* out, const uint8_t* body, size_t len) {
  int n = 0, fin = 0;
  if (EVP_EncryptInit_ex(enc_, nullptr, nullptr, key, out) != 1) return false;
  if (EVP_EncryptUpdate(enc_, out + kHeaderBytes, &n, body, int(len)) != 1) return false;
  if (EVP_EncryptFinal_ex(enc_, out + kHeaderBytes + n, &fin) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_AEAD_GET_TAG, int(kTagBytes), out + kHeaderBytes + len) == 1;
}

bool CellAead::Open(const uint8_t key[32], const uint8_t* cell, size_t len, uint8_t* body) {
  const size_t plen = len - kHeaderBytes - kTagBytes;
  int n = 0, fin = 0;
  if (EVP_DecryptInit_ex(dec_, nullptr, nullptr, key, cell) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_AEAD_SET_TAG, int(kTagBytes), const_cast<uint8_t*>(cell + len - kTagBytes)) != 1) return false;
  if (EVP_DecryptUpdate(dec_, body, &n, cell + kHeaderBytes, int(plen)) != 1) return false;
  return EVP_DecryptFinal_ex(dec_, body + n, &fin) == 1;
}

}  // namespace xr
