import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// encode/decode and the Base64 codec.
struct FunctionsEncodingTests {
    static let U = FunctionHarness.U

    @Test func guideDecodeExample() throws {
        // Payload { encoded_temp: "eyAidGVtcGVyYXR1cmUiOiAzMyB9Cg==" } with
        // SELECT decode(encoded_temp,"base64").temperature AS temp → { "temp": 33 }.
        let decoded = try FunctionHarness.call("decode", ["eyAidGVtcGVyYXR1cmUiOiAzMyB9Cg==", "base64"])
        #expect(decoded == FunctionHarness.json(#"{ "temperature": 33 }"#))
        #expect(decoded?["temperature"] == 33)
    }

    static let cases: [FunctionCase] = [
        FunctionCase("encode", ["hello", "base64"], "aGVsbG8="),
        FunctionCase("encode", [123, "base64"], "MTIz"),
        FunctionCase("encode", [["a": 1], "base64"], "eyJhIjoxfQ=="),
        FunctionCase("encode", ["€", "BASE64"], "4oKs"),
        FunctionCase("encode", ["", "base64"], ""),
        FunctionCase("encode", ["x", "hex"], U), FunctionCase("encode", ["x", U], U),
        FunctionCase("encode", [.null, "base64"], U), FunctionCase("encode", [U, "base64"], U),
        // decode: JSON documents come back as values, other text as a String, bad input as Null.
        FunctionCase("decode", ["aGVsbG8=", "base64"], "hello"),
        FunctionCase("decode", ["aGVsbG8", "base64"], "hello"),
        FunctionCase("decode", ["ODA=", "base64"], 80),
        FunctionCase("decode", ["WzEsMl0=", "base64"], [1, 2]),
        FunctionCase("decode", ["InF1b3RlZCI=", "base64"], "quoted"),
        FunctionCase("decode", ["not base64!", "base64"], .null),
        FunctionCase("decode", ["aGVs bG8=", "base64"], .null),
        FunctionCase("decode", ["/w==", "base64"], .null),
        FunctionCase("decode", ["", "base64"], ""),
        FunctionCase("decode", ["aGVsbG8=", "Base64"], "hello"),
        FunctionCase("decode", ["aGVsbG8=", "rot13"], U),
        FunctionCase("decode", [.null, "base64"], U), FunctionCase("decode", [U, "base64"], U),
        FunctionCase("decode", ["aGVsbG8=", "base64", "extra"], U),
    ]

    @Test(arguments: cases)
    func encodeAndDecode(_ example: FunctionCase) throws { try example.check() }

    @Test func decodeOfEncodeRoundTrips() throws {
        for text in ["80", #"{"a":[1,2,{"b":null}]}"#, "plain text", "ünïcødé"] {
            let encoded = try FunctionHarness.call("encode", [.string(text), "base64"])
            let decoded = try FunctionHarness.call("decode", [encoded, "base64"])
            let expected = (try? JSONParser.parse(text)) ?? .string(text)
            #expect(decoded == expected, "\(text)")
        }
    }

    /// RFC 4648 §10.
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648Vectors(_ plain: String, _ encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.encode(plain.utf8) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func allByteValuesRoundTrip() {
        let bytes = (0...255).map { UInt8($0) }
        for length in [0, 1, 2, 3, 100, 256] {
            let slice = Array(bytes.prefix(length))
            #expect(Base64.decode(Base64.encode(slice)) == slice)
        }
    }

    @Test(arguments: ["Zg=", "Zg===", "Z", "Zm9v=", "Zm9vY", "Zm=9", "Zm9v\n", "-_==", "=="])
    func malformedBase64IsRejected(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test(arguments: ["Zg", "Zm8", "Zm9vYg"])
    func paddingIsOptional(_ text: String) {
        #expect(Base64.decode(text) != nil)
    }
}
