/// Message digests in pure Swift, for the hashing SQL functions (`md2`, `md5`, `sha1`, `sha224`,
/// `sha256`, `sha384`, `sha512`).
///
/// These are the published algorithms (RFC 1319, RFC 1321, FIPS 180-4), checked against their
/// standard test vectors. They are for the rule language's hashing functions, which return hex
/// digests of strings; they are not meant for cryptographic protocols.
///
/// For example:
/// ```swift
/// Hashing.hex(Hashing.md5(Array("hello".utf8)))   // "5d41402abc4b2a76b9719d911017c592"
/// ```
public enum Hashing {
    /// The algorithms the hashing SQL functions offer.
    public enum Algorithm: String, Sendable, CaseIterable {
        case md2, md5, sha1, sha224, sha256, sha384, sha512
    }

    /// The digest of `bytes` with `algorithm`.
    public static func digest(_ algorithm: Algorithm, _ bytes: [UInt8]) -> [UInt8] {
        switch algorithm {
        case .md2: md2(bytes)
        case .md5: md5(bytes)
        case .sha1: sha1(bytes)
        case .sha224: sha224(bytes)
        case .sha256: sha256(bytes)
        case .sha384: sha384(bytes)
        case .sha512: sha512(bytes)
        }
    }

    /// Lowercase hexadecimal digits of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
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

    // MARK: Padding shared by MD5 and the SHA family

    /// The message followed by 0x80, zeros, and the bit length in `lengthBytes` bytes, padded to a
    /// multiple of `blockSize`.
    private static func padded(_ bytes: [UInt8], blockSize: Int, lengthBytes: Int, bigEndian: Bool) -> [UInt8] {
        let bitLength = UInt64(truncatingIfNeeded: bytes.count) &* 8
        var message = bytes
        let total = ((bytes.count + 1 + lengthBytes + blockSize - 1) / blockSize) * blockSize
        message.reserveCapacity(total)
        message.append(0x80)
        while message.count < total - 8 { message.append(0) }
        for i in 0..<8 {
            let shift = bigEndian ? (7 - i) * 8 : i * 8
            message.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        return message
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
    public static func md2(_ bytes: [UInt8]) -> [UInt8] {
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

    // MARK: MD5 (RFC 1321)

    private static let md5Shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
        20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6,
        10, 15, 21,
    ]

    private static let md5K: [UInt32] = [
        0xd76a_a478, 0xe8c7_b756, 0x2420_70db, 0xc1bd_ceee, 0xf57c_0faf, 0x4787_c62a, 0xa830_4613, 0xfd46_9501,
        0x6980_98d8, 0x8b44_f7af, 0xffff_5bb1, 0x895c_d7be, 0x6b90_1122, 0xfd98_7193, 0xa679_438e, 0x49b4_0821,
        0xf61e_2562, 0xc040_b340, 0x265e_5a51, 0xe9b6_c7aa, 0xd62f_105d, 0x0244_1453, 0xd8a1_e681, 0xe7d3_fbc8,
        0x21e1_cde6, 0xc337_07d6, 0xf4d5_0d87, 0x455a_14ed, 0xa9e3_e905, 0xfcef_a3f8, 0x676f_02d9, 0x8d2a_4c8a,
        0xfffa_3942, 0x8771_f681, 0x6d9d_6122, 0xfde5_380c, 0xa4be_ea44, 0x4bde_cfa9, 0xf6bb_4b60, 0xbebf_bc70,
        0x289b_7ec6, 0xeaa1_27fa, 0xd4ef_3085, 0x0488_1d05, 0xd9d4_d039, 0xe6db_99e5, 0x1fa2_7cf8, 0xc4ac_5665,
        0xf429_2244, 0x432a_ff97, 0xab94_23a7, 0xfc93_a039, 0x655b_59c3, 0x8f0c_cc92, 0xffef_f47d, 0x8584_5dd1,
        0x6fa8_7e4f, 0xfe2c_e6e0, 0xa301_4314, 0x4e08_11a1, 0xf753_7e82, 0xbd3a_f235, 0x2ad7_d2bb, 0xeb86_d391,
    ]

    /// MD5 (RFC 1321), 16 bytes.
    public static func md5(_ bytes: [UInt8]) -> [UInt8] {
        let message = padded(bytes, blockSize: 64, lengthBytes: 8, bigEndian: false)
        var a0: UInt32 = 0x6745_2301
        var b0: UInt32 = 0xefcd_ab89
        var c0: UInt32 = 0x98ba_dcfe
        var d0: UInt32 = 0x1032_5476
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { m in
            var block = 0
            while block < message.count {
                for i in 0..<16 {
                    let p = block + i * 4
                    m[i] =
                        UInt32(message[p]) | UInt32(message[p + 1]) << 8 | UInt32(message[p + 2]) << 16
                        | UInt32(message[p + 3]) << 24
                }
                var a = a0
                var b = b0
                var c = c0
                var d = d0
                for i in 0..<64 {
                    var f: UInt32
                    let g: Int
                    switch i {
                    case 0..<16:
                        f = (b & c) | (~b & d)
                        g = i
                    case 16..<32:
                        f = (d & b) | (~d & c)
                        g = (5 &* i &+ 1) & 15
                    case 32..<48:
                        f = b ^ c ^ d
                        g = (3 &* i &+ 5) & 15
                    default:
                        f = c ^ (b | ~d)
                        g = (7 &* i) & 15
                    }
                    f = f &+ a &+ md5K[i] &+ m[g]
                    a = d
                    d = c
                    c = b
                    b = b &+ rotateLeft(f, md5Shifts[i])
                }
                a0 = a0 &+ a
                b0 = b0 &+ b
                c0 = c0 &+ c
                d0 = d0 &+ d
                block += 64
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for word in [a0, b0, c0, d0] {
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return out
    }

    @inline(__always)
    private static func rotateLeft(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

    @inline(__always)
    private static func rotateRight(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    @inline(__always)
    private static func rotateRight(_ x: UInt64, _ n: UInt64) -> UInt64 { (x >> n) | (x << (64 - n)) }

    // MARK: SHA-1 (FIPS 180-4)

    /// SHA-1, 20 bytes.
    public static func sha1(_ bytes: [UInt8]) -> [UInt8] {
        let message = padded(bytes, blockSize: 64, lengthBytes: 8, bigEndian: true)
        var h: [UInt32] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476, 0xc3d2_e1f0]
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            var block = 0
            while block < message.count {
                for i in 0..<16 {
                    let p = block + i * 4
                    w[i] =
                        UInt32(message[p]) << 24 | UInt32(message[p + 1]) << 16 | UInt32(message[p + 2]) << 8
                        | UInt32(message[p + 3])
                }
                for i in 16..<80 { w[i] = rotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
                var a = h[0]
                var b = h[1]
                var c = h[2]
                var d = h[3]
                var e = h[4]
                for i in 0..<80 {
                    let f: UInt32
                    let k: UInt32
                    switch i {
                    case 0..<20:
                        f = (b & c) | (~b & d)
                        k = 0x5a82_7999
                    case 20..<40:
                        f = b ^ c ^ d
                        k = 0x6ed9_eba1
                    case 40..<60:
                        f = (b & c) | (b & d) | (c & d)
                        k = 0x8f1b_bcdc
                    default:
                        f = b ^ c ^ d
                        k = 0xca62_c1d6
                    }
                    let t = rotateLeft(a, 5) &+ f &+ e &+ k &+ w[i]
                    e = d
                    d = c
                    c = rotateLeft(b, 30)
                    b = a
                    a = t
                }
                h[0] = h[0] &+ a
                h[1] = h[1] &+ b
                h[2] = h[2] &+ c
                h[3] = h[3] &+ d
                h[4] = h[4] &+ e
                block += 64
            }
        }
        return bigEndianBytes(h, count: 20)
    }

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

    private static func bigEndianBytes(_ words: [UInt64], count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(words.count * 8)
        for word in words {
            for shift in stride(from: 56, through: 0, by: -8) {
                out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return Array(out.prefix(count))
    }

    // MARK: SHA-224 and SHA-256 (FIPS 180-4)

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
    public static func sha224(_ bytes: [UInt8]) -> [UInt8] {
        sha256Core(
            bytes,
            initial: [
                0xc105_9ed8, 0x367c_d507, 0x3070_dd17, 0xf70e_5939, 0xffc0_0b31, 0x6858_1511, 0x64f9_8fa7, 0xbefa_4fa4,
            ], count: 28)
    }

    /// SHA-256, 32 bytes.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        sha256Core(
            bytes,
            initial: [
                0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
            ], count: 32)
    }

    private static func sha256Core(_ bytes: [UInt8], initial: [UInt32], count: Int) -> [UInt8] {
        let message = padded(bytes, blockSize: 64, lengthBytes: 8, bigEndian: true)
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

    // MARK: SHA-384 and SHA-512 (FIPS 180-4)

    private static let sha512K: [UInt64] = [
        0x428a_2f98_d728_ae22, 0x7137_4491_23ef_65cd, 0xb5c0_fbcf_ec4d_3b2f, 0xe9b5_dba5_8189_dbbc,
        0x3956_c25b_f348_b538, 0x59f1_11f1_b605_d019, 0x923f_82a4_af19_4f9b, 0xab1c_5ed5_da6d_8118,
        0xd807_aa98_a303_0242, 0x1283_5b01_4570_6fbe, 0x2431_85be_4ee4_b28c, 0x550c_7dc3_d5ff_b4e2,
        0x72be_5d74_f27b_896f, 0x80de_b1fe_3b16_96b1, 0x9bdc_06a7_25c7_1235, 0xc19b_f174_cf69_2694,
        0xe49b_69c1_9ef1_4ad2, 0xefbe_4786_384f_25e3, 0x0fc1_9dc6_8b8c_d5b5, 0x240c_a1cc_77ac_9c65,
        0x2de9_2c6f_592b_0275, 0x4a74_84aa_6ea6_e483, 0x5cb0_a9dc_bd41_fbd4, 0x76f9_88da_8311_53b5,
        0x983e_5152_ee66_dfab, 0xa831_c66d_2db4_3210, 0xb003_27c8_98fb_213f, 0xbf59_7fc7_beef_0ee4,
        0xc6e0_0bf3_3da8_8fc2, 0xd5a7_9147_930a_a725, 0x06ca_6351_e003_826f, 0x1429_2967_0a0e_6e70,
        0x27b7_0a85_46d2_2ffc, 0x2e1b_2138_5c26_c926, 0x4d2c_6dfc_5ac4_2aed, 0x5338_0d13_9d95_b3df,
        0x650a_7354_8baf_63de, 0x766a_0abb_3c77_b2a8, 0x81c2_c92e_47ed_aee6, 0x9272_2c85_1482_353b,
        0xa2bf_e8a1_4cf1_0364, 0xa81a_664b_bc42_3001, 0xc24b_8b70_d0f8_9791, 0xc76c_51a3_0654_be30,
        0xd192_e819_d6ef_5218, 0xd699_0624_5565_a910, 0xf40e_3585_5771_202a, 0x106a_a070_32bb_d1b8,
        0x19a4_c116_b8d2_d0c8, 0x1e37_6c08_5141_ab53, 0x2748_774c_df8e_eb99, 0x34b0_bcb5_e19b_48a8,
        0x391c_0cb3_c5c9_5a63, 0x4ed8_aa4a_e341_8acb, 0x5b9c_ca4f_7763_e373, 0x682e_6ff3_d6b2_b8a3,
        0x748f_82ee_5def_b2fc, 0x78a5_636f_4317_2f60, 0x84c8_7814_a1f0_ab72, 0x8cc7_0208_1a64_39ec,
        0x90be_fffa_2363_1e28, 0xa450_6ceb_de82_bde9, 0xbef9_a3f7_b2c6_7915, 0xc671_78f2_e372_532b,
        0xca27_3ece_ea26_619c, 0xd186_b8c7_21c0_c207, 0xeada_7dd6_cde0_eb1e, 0xf57d_4f7f_ee6e_d178,
        0x06f0_67aa_7217_6fba, 0x0a63_7dc5_a2c8_98a6, 0x113f_9804_bef9_0dae, 0x1b71_0b35_131c_471b,
        0x28db_77f5_2304_7d84, 0x32ca_ab7b_40c7_2493, 0x3c9e_be0a_15c9_bebc, 0x431d_67c4_9c10_0d4c,
        0x4cc5_d4be_cb3e_42b6, 0x597f_299c_fc65_7e2a, 0x5fcb_6fab_3ad6_faec, 0x6c44_198c_4a47_5817,
    ]

    /// SHA-384, 48 bytes.
    public static func sha384(_ bytes: [UInt8]) -> [UInt8] {
        sha512Core(
            bytes,
            initial: [
                0xcbbb_9d5d_c105_9ed8, 0x629a_292a_367c_d507, 0x9159_015a_3070_dd17, 0x152f_ecd8_f70e_5939,
                0x6733_2667_ffc0_0b31, 0x8eb4_4a87_6858_1511, 0xdb0c_2e0d_64f9_8fa7, 0x47b5_481d_befa_4fa4,
            ], count: 48)
    }

    /// SHA-512, 64 bytes.
    public static func sha512(_ bytes: [UInt8]) -> [UInt8] {
        sha512Core(
            bytes,
            initial: [
                0x6a09_e667_f3bc_c908, 0xbb67_ae85_84ca_a73b, 0x3c6e_f372_fe94_f82b, 0xa54f_f53a_5f1d_36f1,
                0x510e_527f_ade6_82d1, 0x9b05_688c_2b3e_6c1f, 0x1f83_d9ab_fb41_bd6b, 0x5be0_cd19_137e_2179,
            ], count: 64)
    }

    private static func sha512Core(_ bytes: [UInt8], initial: [UInt64], count: Int) -> [UInt8] {
        // The length field is 128 bits; the high 64 bits are zero for any message held in memory.
        var message = bytes
        let bitLength = UInt64(truncatingIfNeeded: bytes.count) &* 8
        let total = ((bytes.count + 1 + 16 + 127) / 128) * 128
        message.reserveCapacity(total)
        message.append(0x80)
        while message.count < total - 8 { message.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) {
            message.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        var h = initial
        sha512K.withUnsafeBufferPointer { k in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 80) { w in
                var block = 0
                while block < message.count {
                    for i in 0..<16 {
                        var word: UInt64 = 0
                        for j in 0..<8 { word = word << 8 | UInt64(message[block + i * 8 + j]) }
                        w[i] = word
                    }
                    for i in 16..<80 {
                        let s0 = rotateRight(w[i - 15], 1) ^ rotateRight(w[i - 15], 8) ^ (w[i - 15] >> 7)
                        let s1 = rotateRight(w[i - 2], 19) ^ rotateRight(w[i - 2], 61) ^ (w[i - 2] >> 6)
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
                    for i in 0..<80 {
                        let s1 = rotateRight(e, 14) ^ rotateRight(e, 18) ^ rotateRight(e, 41)
                        let ch = (e & f) ^ (~e & g)
                        let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                        let s0 = rotateRight(a, 28) ^ rotateRight(a, 34) ^ rotateRight(a, 39)
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
                    block += 128
                }
            }
        }
        return bigEndianBytes(h, count: count)
    }
}
