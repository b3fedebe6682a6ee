//! Master keys, the session keys derived from them (RFC 3711 §4.3, key derivation rate 0), the
//! AES counter-mode keystream (§4.1.1) and the HMAC-SHA1 tag (§4.2.1).

use std::fmt;

use aes::cipher::{InnerIvInit, KeyInit as _, StreamCipher};
use aes::Aes128;
use ctr::{flavors, CtrCore};
use hmac::{Hmac, KeyInit as _, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use super::error::SrtpError;

/// Bytes of an AES-128 master key.
pub const MASTER_KEY_LEN: usize = 16;
/// Bytes of a master salt (112 bits).
pub const MASTER_SALT_LEN: usize = 14;
/// Longest MKI RFC 4568 allows, in bytes.
pub const MAX_MKI_LEN: usize = 128;
/// Longest master key lifetime: the SRTP index space (RFC 3711 §9.2).
pub const MAX_LIFETIME: u64 = 1 << 48;

const AUTH_KEY_LEN: usize = 20;

type HmacSha1 = Hmac<Sha1>;

/// A master key and salt, as SDES carries them (`inline:` key || salt), with the optional MKI
/// and lifetime of its `a=crypto` line.
///
/// Its `Debug` output never shows the key material.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    key: [u8; MASTER_KEY_LEN],
    salt: [u8; MASTER_SALT_LEN],
    mki: Option<Box<[u8]>>,
    lifetime: u64,
}

impl MasterKey {
    /// A master key and salt, without MKI, living the full 2^48 packets.
    pub fn new(key: [u8; MASTER_KEY_LEN], salt: [u8; MASTER_SALT_LEN]) -> MasterKey {
        MasterKey {
            key,
            salt,
            mki: None,
            lifetime: MAX_LIFETIME,
        }
    }

    /// Splits the 30 bytes of an SDES inline key into the master key and the master salt.
    pub fn from_key_salt(key_salt: &[u8]) -> Result<MasterKey, SrtpError> {
        let expected = MASTER_KEY_LEN + MASTER_SALT_LEN;
        let (Some(key), Some(salt)) = (
            key_salt.get(..MASTER_KEY_LEN),
            key_salt.get(MASTER_KEY_LEN..expected),
        ) else {
            return Err(Self::length_error(key_salt.len()));
        };
        if key_salt.len() != expected {
            return Err(Self::length_error(key_salt.len()));
        }
        let mut k = [0; MASTER_KEY_LEN];
        let mut s = [0; MASTER_SALT_LEN];
        k.copy_from_slice(key);
        s.copy_from_slice(salt);
        Ok(MasterKey::new(k, s))
    }

    fn length_error(got: usize) -> SrtpError {
        SrtpError::KeyLength {
            what: "master key and salt",
            got,
            expected: MASTER_KEY_LEN + MASTER_SALT_LEN,
        }
    }

    /// This key with an MKI: every packet carries these bytes, and a received packet must.
    pub fn with_mki(mut self, mki: &[u8]) -> Result<MasterKey, SrtpError> {
        if mki.is_empty() || mki.len() > MAX_MKI_LEN {
            return Err(SrtpError::KeyLength {
                what: "MKI",
                got: mki.len(),
                expected: MAX_MKI_LEN,
            });
        }
        self.mki = Some(mki.into());
        Ok(self)
    }

    /// This key retired after `packets` packets (RFC 4568's lifetime), at most 2^48.
    pub fn with_lifetime(mut self, packets: u64) -> Result<MasterKey, SrtpError> {
        if packets == 0 || packets > MAX_LIFETIME {
            return Err(SrtpError::Lifetime(packets));
        }
        self.lifetime = packets;
        Ok(self)
    }

    /// The MKI packets carry, if any.
    pub fn mki(&self) -> Option<&[u8]> {
        self.mki.as_deref()
    }

    /// How many packets this key may protect.
    pub fn lifetime(&self) -> u64 {
        self.lifetime
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("key", &"<redacted>")
            .field("mki_len", &self.mki.as_ref().map(|m| m.len()))
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// Key derivation labels (RFC 3711 §4.3.1 and §4.3.2).
#[derive(Clone, Copy)]
enum Label {
    Cipher = 0,
    Auth = 1,
    Salt = 2,
}

/// Whether keys are for SRTP or SRTCP: SRTCP's labels are SRTP's plus three.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Layer {
    Rtp,
    Rtcp,
}

/// The session keys of one layer (SRTP or SRTCP) in one direction.
#[derive(Clone)]
pub(crate) struct SessionKeys {
    cipher: Aes128,
    salt: [u8; MASTER_SALT_LEN],
    /// HMAC state already keyed, cloned per packet so the key schedule is not redone.
    auth: HmacSha1,
}

impl SessionKeys {
    /// Derives the session keys with key derivation rate 0: `r` is always 0, so the keys are the
    /// same for every index and are derived once.
    pub(crate) fn derive(master: &MasterKey, layer: Layer) -> SessionKeys {
        let master_cipher = Aes128::new(&master.key.into());
        let base = match layer {
            Layer::Rtp => 0,
            Layer::Rtcp => 3,
        };
        let mut cipher_key = [0u8; MASTER_KEY_LEN];
        let mut auth_key = [0u8; AUTH_KEY_LEN];
        let mut salt = [0u8; MASTER_SALT_LEN];
        prf(
            &master_cipher,
            &master.salt,
            base + Label::Cipher as u8,
            &mut cipher_key,
        );
        prf(
            &master_cipher,
            &master.salt,
            base + Label::Auth as u8,
            &mut auth_key,
        );
        prf(
            &master_cipher,
            &master.salt,
            base + Label::Salt as u8,
            &mut salt,
        );
        // INVARIANT: HMAC accepts keys of any length.
        let auth = HmacSha1::new_from_slice(&auth_key).expect("HMAC takes any key length");
        SessionKeys {
            cipher: Aes128::new(&cipher_key.into()),
            salt,
            auth,
        }
    }

    /// XORs the AES-CM keystream of packet `index` of stream `ssrc` into `data` (§4.1.1).
    pub(crate) fn apply_keystream(&self, ssrc: u32, index: u64, data: &mut [u8]) {
        aes_cm(&self.cipher, packet_iv(&self.salt, ssrc, index), data);
    }

    /// The HMAC-SHA1 of `authenticated` followed by `trailer` (the ROC for SRTP, nothing for
    /// SRTCP, whose index is inside the authenticated bytes).
    pub(crate) fn tag(&self, authenticated: &[u8], trailer: &[u8]) -> [u8; AUTH_KEY_LEN] {
        let mut mac = self.auth.clone();
        mac.update(authenticated);
        mac.update(trailer);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the first `tag.len()` bytes of the packet's HMAC, compared in constant
    /// time so the time taken tells a forger nothing about how many bytes matched.
    pub(crate) fn verify(&self, authenticated: &[u8], trailer: &[u8], tag: &[u8]) -> bool {
        let full = self.tag(authenticated, trailer);
        full.get(..tag.len())
            .is_some_and(|expected| bool::from(expected.ct_eq(tag)))
    }
}

/// The counter block of a packet: `salt·2^16 XOR ssrc·2^64 XOR index·2^16`.
fn packet_iv(salt: &[u8; MASTER_SALT_LEN], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..MASTER_SALT_LEN].copy_from_slice(salt);
    for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *b ^= s;
    }
    for (b, i) in iv[8..].iter_mut().zip((index << 16).to_be_bytes()) {
        *b ^= i;
    }
    iv
}

/// The key derivation function with rate 0: AES-CM under the master key, counter block
/// `(label·2^48 XOR master_salt)·2^16`, keystream truncated to `out`.
fn prf(master: &Aes128, salt: &[u8; MASTER_SALT_LEN], label: u8, out: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..MASTER_SALT_LEN].copy_from_slice(salt);
    // key_id = label || r (48 bits, 0) is 56 bits, right-aligned under the 112-bit salt.
    iv[MASTER_SALT_LEN - 7] ^= label;
    out.fill(0);
    aes_cm(master, iv, out);
}

/// XORs the AES counter-mode keystream starting at counter block `iv` into `data`.
fn aes_cm(cipher: &Aes128, iv: [u8; 16], data: &mut [u8]) {
    // Borrowing the keyed cipher spares a key schedule per packet.
    let core = CtrCore::<&Aes128, flavors::Ctr128BE>::inner_iv_init(cipher, &iv.into());
    ctr::Ctr128BE::<&Aes128>::from_core(core).apply_keystream(data);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 3711 Appendix B.2: the AES-CM keystream for session key 2B7E..., salt F0F1...FD.
    #[test]
    fn rfc3711_b2_aes_cm_keystream() {
        let cipher = Aes128::new_from_slice(&hex("2B7E151628AED2A6ABF7158809CF4F3C")).unwrap();
        let salt: [u8; 14] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap();
        let iv = packet_iv(&salt, 0, 0);
        assert_eq!(iv.to_vec(), hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));
        let mut ks = vec![0u8; 0xFF02 * 16];
        aes_cm(&cipher, iv, &mut ks);
        let block = |n: usize| ks[n * 16..n * 16 + 16].to_vec();
        assert_eq!(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
        assert_eq!(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
        assert_eq!(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
        assert_eq!(block(0xFEFF), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
        assert_eq!(block(0xFF00), hex("362B7C3C6773516318A077D7FC5073AE"));
        assert_eq!(block(0xFF01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
    }

    /// RFC 3711 Appendix B.3: session keys from master key E1F9... and salt 0EC6....
    #[test]
    fn rfc3711_b3_key_derivation() {
        let master = MasterKey::from_key_salt(&hex(
            "E1F97A0D3E018BE0D64FA32C06DE4139 0EC675AD498AFEEBB6960B3AABE6",
        ))
        .unwrap();
        let cipher = Aes128::new(&master.key.into());
        let mut k = [0u8; 16];
        prf(&cipher, &master.salt, 0, &mut k);
        assert_eq!(k.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut s = [0u8; 14];
        prf(&cipher, &master.salt, 2, &mut s);
        assert_eq!(s.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        // The appendix lists 94 bytes of authentication key stream; SHA1 uses the first 20.
        let mut a = [0u8; 94];
        prf(&cipher, &master.salt, 1, &mut a);
        assert_eq!(
            a.to_vec(),
            hex(
                "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4 8F0A0ACF3C34E2359E6CDBCE \
                 E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25 \
                 6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2"
            )
        );
        let keys = SessionKeys::derive(&master, Layer::Rtp);
        assert_eq!(keys.salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
    }

    #[test]
    fn key_material_is_checked_and_never_printed() {
        assert_eq!(
            MasterKey::from_key_salt(&[0; 29]),
            Err(SrtpError::KeyLength {
                what: "master key and salt",
                got: 29,
                expected: 30
            })
        );
        assert!(MasterKey::from_key_salt(&[0; 31]).is_err());
        let k = MasterKey::from_key_salt(&[0xAB; 30]).unwrap();
        assert!(!format!("{k:?}").contains("171"));
        assert!(!format!("{k:?}").to_lowercase().contains("ab"));
        assert!(k.clone().with_mki(&[]).is_err());
        assert!(k.clone().with_mki(&[1; 129]).is_err());
        assert_eq!(k.clone().with_mki(&[7]).unwrap().mki(), Some(&[7u8][..]));
        assert_eq!(k.clone().with_lifetime(0), Err(SrtpError::Lifetime(0)));
        assert!(k.clone().with_lifetime(MAX_LIFETIME + 1).is_err());
        assert_eq!(k.with_lifetime(1 << 20).unwrap().lifetime(), 1 << 20);
    }
}
