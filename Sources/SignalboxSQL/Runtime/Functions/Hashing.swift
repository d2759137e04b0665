import Crypto

/// Message digests for the hashing SQL functions (`md2`, `md5`, `sha1`, `sha224`, `sha256`,
/// `sha384`, `sha512`): swift-crypto's where it has the algorithm, MD2 (RFC 1319) and SHA-224
/// (FIPS 180-4) here, each checked against its standard test vectors. They are for the rule
/// language's hashing functions, which return hex digests of strings.
///
/// For example:
/// ```swift
/// Hashing.hex(Hashing.digest(.md5, Array("hello".utf8)))   // "5d41402abc4b2a76b9719d911017c592"
/// ```
package enum Hashing {
    /// The algorithms the hashing SQL functions offer.
    package enum Algorithm: String, Sendable, CaseIterable {
        case md2, md5, sha1, sha224, sha256, sha384, sha512
    }

    /// The digest of `bytes` with `algorithm`.
    package static func digest(_ algorithm: Algorithm, _ bytes: [UInt8]) -> [UInt8] {
        switch algorithm {
        case .md2: md2(bytes)
        case .md5: Array(Insecure.MD5.hash(data: bytes))
        case .sha1: Array(Insecure.SHA1.hash(data: bytes))
        case .sha224: sha224(bytes)
        case .sha256: Array(SHA256.hash(data: bytes))
        case .sha384: Array(SHA384.hash(data: bytes))
        case .sha512: Array(SHA512.hash(data: bytes))
        }
    }

    /// Lowercase hexadecimal digits of `bytes`.
    package static func hex(_ bytes: [UInt8]) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            digits.withUTF8Buffer { hexDigits in
                var i = 0
                for byte in bytes {
                    buffer[i] = hexDigits[Int(byte >> 4)]
                    buffer[i + 1] = hexDigits[Int(byte & 0x0F)]
                    i += 2
                }
            }
            return bytes.count * 2
        }
    }

    // MARK: MD2 (RFC 1319)

    private static let md2S: [UInt8] = [
        41, 46, 67, 201, 162, 216, 124, 1, 61, 54, 84, 161, 236, 240, 6, 19, 98, 167, 5, 243, 192, 199, 115, 140,
        152, 147, 43, 217, 188, 76, 130, 202, 30, 155, 87, 60, 253, 212, 224, 22, 103, 66, 111, 24, 138, 23, 229, 18,
        190, 78, 196, 214, 218, 158, 222, 73, 160, 251, 245, 142, 187, 47, 238, 122, 169, 104, 121, 145, 21, 178, 7, 63,
        148, 194, 16, 137, 11, 34, 95, 33, 128, 127, 93, 154, 90, 144, 50, 39, 53, 62, 204, 231, 191, 247, 151, 3, 255,
        25, 48, 179, 72, 165, 181, 209, 215, 94, 146, 42, 172, 86, 170, 198, 79, 184, 56, 210, 150, 164, 125, 182, 118,
        252, 107, 226, 156, 116, 4, 241, 69, 157, 112, 89, 100, 113, 135, 32, 134, 91, 207, 101, 230, 45, 168, 2, 27,
        96, 37, 173, 174, 176, 185, 246, 28, 70, 97, 105, 52, 64, 126, 15, 85, 71, 163, 35, 221, 81, 175, 58, 195, 92,
        249, 206, 186, 197, 234, 38, 44, 83, 13, 110, 133, 40, 132, 9, 211, 223, 205, 244, 65, 129, 77, 82, 106, 220,
        55, 200, 108, 193, 171, 250, 36, 225, 123, 8, 12, 189, 177, 74, 120, 136, 149, 139, 227, 99, 232, 109, 233,
        203, 213, 254, 59, 0, 29, 57, 242, 239, 183, 14, 102, 88, 208, 228, 166, 119, 114, 248, 235, 117, 75, 10, 49,
        68, 80, 180, 143, 237, 31, 26, 219, 153, 141, 51, 159, 17, 131, 20,
    ]

    /// MD2 (RFC 1319), 16 bytes.
    package static func md2(_ bytes: [UInt8]) -> [UInt8] {
        let padLength = 16 - bytes.count % 16
        var message = bytes
        message.append(contentsOf: repeatElement(UInt8(padLength), count: padLength))
        var checksum = [UInt8](repeating: 0, count: 16)
        var last: UInt8 = 0
        var block = 0
        while block < message.count {
            for j in 0..<16 {
                checksum[j] ^= md2S[Int(message[block + j] ^ last)]
                last = checksum[j]
            }
            block += 16
        }
        message.append(contentsOf: checksum)
        var x = [UInt8](repeating: 0, count: 48)
        block = 0
        while block < message.count {
            for j in 0..<16 {
                x[16 + j] = message[block + j]
                x[32 + j] = x[16 + j] ^ x[j]
            }
            var t: UInt8 = 0
            for j in 0..<18 {
                for k in 0..<48 {
                    x[k] ^= md2S[Int(t)]
                    t = x[k]
                }
                t = t &+ UInt8(j)
            }
            block += 16
        }
        return Array(x[0..<16])
    }

    // MARK: SHA-224 (FIPS 180-4), which swift-crypto does not offer

    /// The message followed by 0x80, zeros, and its bit length as a big-endian 64-bit number, padded
    /// to a multiple of 64 bytes.
    private static func padded(_ bytes: [UInt8]) -> [UInt8] {
        let bitLength = UInt64(truncatingIfNeeded: bytes.count) &* 8
        var message = bytes
        let total = ((bytes.count + 1 + 8 + 63) / 64) * 64
        message.reserveCapacity(total)
        message.append(0x80)
        while message.count < total - 8 { message.append(0) }
        for i in 0..<8 { message.append(UInt8(truncatingIfNeeded: bitLength >> UInt64((7 - i) * 8))) }
        return message
    }

    private static func rotateRight(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    private static func bigEndianBytes(_ words: [UInt32], count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(words.count * 4)
        for word in words {
            out.append(UInt8(truncatingIfNeeded: word >> 24))
            out.append(UInt8(truncatingIfNeeded: word >> 16))
            out.append(UInt8(truncatingIfNeeded: word >> 8))
            out.append(UInt8(truncatingIfNeeded: word))
        }
        return Array(out.prefix(count))
    }

    private static let sha256K: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    /// SHA-224, 28 bytes.
    package static func sha224(_ bytes: [UInt8]) -> [UInt8] {
        sha256Core(
            bytes,
            initial: [
                0xc105_9ed8, 0x367c_d507, 0x3070_dd17, 0xf70e_5939, 0xffc0_0b31, 0x6858_1511, 0x64f9_8fa7, 0xbefa_4fa4,
            ], count: 28)
    }

    private static func sha256Core(_ bytes: [UInt8], initial: [UInt32], count: Int) -> [UInt8] {
        let message = padded(bytes)
        var h = initial
        sha256K.withUnsafeBufferPointer { k in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                var block = 0
                while block < message.count {
                    for i in 0..<16 {
                        let p = block + i * 4
                        w[i] =
                            UInt32(message[p]) << 24 | UInt32(message[p + 1]) << 16 | UInt32(message[p + 2]) << 8
                            | UInt32(message[p + 3])
                    }
                    for i in 16..<64 {
                        let s0 = rotateRight(w[i - 15], 7) ^ rotateRight(w[i - 15], 18) ^ (w[i - 15] >> 3)
                        let s1 = rotateRight(w[i - 2], 17) ^ rotateRight(w[i - 2], 19) ^ (w[i - 2] >> 10)
                        w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
                    }
                    var a = h[0]
                    var b = h[1]
                    var c = h[2]
                    var d = h[3]
                    var e = h[4]
                    var f = h[5]
                    var g = h[6]
                    var hh = h[7]
                    for i in 0..<64 {
                        let s1 = rotateRight(e, 6) ^ rotateRight(e, 11) ^ rotateRight(e, 25)
                        let ch = (e & f) ^ (~e & g)
                        let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                        let s0 = rotateRight(a, 2) ^ rotateRight(a, 13) ^ rotateRight(a, 22)
                        let maj = (a & b) ^ (a & c) ^ (b & c)
                        let t2 = s0 &+ maj
                        hh = g
                        g = f
                        f = e
                        e = d &+ t1
                        d = c
                        c = b
                        b = a
                        a = t1 &+ t2
                    }
                    h[0] = h[0] &+ a
                    h[1] = h[1] &+ b
                    h[2] = h[2] &+ c
                    h[3] = h[3] &+ d
                    h[4] = h[4] &+ e
                    h[5] = h[5] &+ f
                    h[6] = h[6] &+ g
                    h[7] = h[7] &+ hh
                    block += 64
                }
            }
        }
        return bigEndianBytes(h, count: count)
    }
}
