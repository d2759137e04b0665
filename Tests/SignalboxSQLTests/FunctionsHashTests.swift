import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// Hashing functions: the guide's examples, then the standard test vectors of each algorithm.
struct FunctionsHashTests {
    static let U = FunctionHarness.U

    static let guideExamples: [FunctionCase] = [
        FunctionCase("md2", ["hello"], "a9046c73e00331af68917d3804f70655"),
        FunctionCase("md5", ["hello"], "5d41402abc4b2a76b9719d911017c592"),
    ]

    @Test(arguments: guideExamples)
    func guideExample(_ example: FunctionCase) throws { try example.check() }

    static let a448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    static let a896 =
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"

    /// RFC 1319, RFC 1321 and FIPS 180 (NIST) vectors, plus block-boundary lengths checked with hashlib.
    static let vectors: [(Hashing.Algorithm, String, String)] = [
        (.md2, "", "8350e5a3e24c153df2275c9f80692773"),
        (.md2, "a", "32ec01ec4a6dac72c0ab96fb34c0b5d1"),
        (.md2, "abc", "da853b0d3f88d99b30283a69e6ded6bb"),
        (.md2, "message digest", "ab4f496bfb2a530b219ff33031fe06b0"),
        (.md2, "abcdefghijklmnopqrstuvwxyz", "4e8ddff3650292ab5a4108c3aa47940b"),
        (.md2, String(repeating: "a", count: 15), "a1379a1027d0d29af98200799b8d5d8e"),
        (.md2, String(repeating: "a", count: 16), "b437ae50feb09a37c16b4c605cd642da"),
        (.md2, String(repeating: "a", count: 17), "dbf15a5fdfd6f7e9ece27d5e310c58ed"),
        (.md5, "", "d41d8cd98f00b204e9800998ecf8427e"),
        (.md5, "abc", "900150983cd24fb0d6963f7d28e17f72"),
        (.md5, "message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        (.md5, String(repeating: "a", count: 55), "ef1772b6dff9a122358552954ad0df65"),
        (.md5, String(repeating: "a", count: 56), "3b0c8ac703f828b04c6c197006d17218"),
        (.md5, String(repeating: "a", count: 64), "014842d480b571495a4a0363793f7367"),
        (.md5, String(repeating: "a", count: 1000), "cabe45dcc9ae5b66ba86600cca6b8ba8"),
        (.sha1, "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (.sha1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (.sha1, a448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        (.sha1, String(repeating: "a", count: 55), "c1c8bbdc22796e28c0e15163d20899b65621d65a"),
        (.sha1, String(repeating: "a", count: 56), "c2db330f6083854c99d4b5bfb6e8f29f201be699"),
        (.sha1, String(repeating: "a", count: 63), "03f09f5b158a7a8cdad920bddc29b81c18a551f5"),
        (.sha1, String(repeating: "a", count: 64), "0098ba824b5c16427bd7a1122a5a442a25ec644d"),
        (.sha224, "", "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f"),
        (.sha224, "abc", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
        (.sha224, a448, "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525"),
        (.sha224, String(repeating: "a", count: 64), "a88cd5cde6d6fe9136a4e58b49167461ea95d388ca2bdb7afdc3cbf4"),
        (.sha256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (.sha256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (.sha256, a448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (
            .sha256, String(repeating: "a", count: 55),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"
        ),
        (
            .sha256, String(repeating: "a", count: 56),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"
        ),
        (
            .sha256, String(repeating: "a", count: 1000),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        ),
        (.sha256, "€", "c4cc90ed3d26f12d4b08a75140970a7904035c31cbb4515a83f19b9003c00d1d"),
        (
            .sha384, "",
            "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"
        ),
        (
            .sha384, "abc",
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        ),
        (
            .sha384, a896,
            "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039"
        ),
        (
            .sha384, String(repeating: "a", count: 111),
            "3c37955051cb5c3026f94d551d5b5e2ac38d572ae4e07172085fed81f8466b8f90dc23a8ffcdea0b8d8e58e8fdacc80a"
        ),
        (
            .sha512, "",
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                + "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        ),
        (
            .sha512, "abc",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        ),
        (
            .sha512, a896,
            "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
                + "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"
        ),
        (
            .sha512, String(repeating: "a", count: 112),
            "c01d080efd492776a1c43bd23dd99d0a2e626d481e16782e75d54c2503b5dc32"
                + "bd05f0f1ba33e568b88fd2d970929b719ecbb152f58f130a407c8830604b70ca"
        ),
        (
            .sha512, String(repeating: "a", count: 127),
            "828613968b501dc00a97e08c73b118aa8876c26b8aac93df128502ab360f91ba"
                + "b50a51e088769a5c1eff4782ace147dce3642554199876374291f5d921629502"
        ),
        (
            .sha512, String(repeating: "a", count: 128),
            "b73d1929aa615934e61a871596b3f3b33359f42b8175602e89f7e06e5f658a24"
                + "3667807ed300314b95cacdd579f3e33abdfbe351909519a846d465c59582f321"
        ),
    ]

    @Test(arguments: vectors)
    func standardVector(_ algorithm: Hashing.Algorithm, _ input: String, _ expected: String) throws {
        #expect(Hashing.hex(Hashing.digest(algorithm, Array(input.utf8))) == expected)
        #expect(try FunctionHarness.call(algorithm.rawValue, [.string(input)]) == .string(expected))
    }

    static let conversions: [FunctionCase] = [
        // Non-strings are hashed in their String form; Null and Undefined have none.
        FunctionCase("md5", [123], "202cb962ac59075b964b07152d234b70"),
        FunctionCase("sha1", [true], "5ffe533b830f08a0326348a9160afafc8ada44db"),
        FunctionCase("md5", [[1, 2]], "f79408e5ca998cd53faf44af31e6eb45"),
        FunctionCase("md5", [.null], U), FunctionCase("sha256", [U], U), FunctionCase("sha512", [.null], U),
    ]

    @Test(arguments: conversions)
    func conversion(_ example: FunctionCase) throws { try example.check() }
}
