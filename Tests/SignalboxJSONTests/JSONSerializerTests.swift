import SignalboxJSON
import SignalboxTestSupport
import Testing

/// Serialization: escaping, layouts, number forms and round trips through the parser.
struct JSONSerializerTests {
    static let strings: [(value: String, json: String)] = [
        ("", #""""#),
        ("plain", #""plain""#),
        ("\"", #""\"""#),
        ("\\", #""\\""#),
        ("/", #""/""#),
        ("\n\r\t", #""\n\r\t""#),
        ("\u{08}\u{0C}", #""\b\f""#),
        ("\u{0}", #""\u0000""#),
        ("\u{01}\u{1F}", #""\u0001\u001f""#),
        ("\u{1B}[0m", #""\u001b[0m""#),
        ("\u{7F}", "\"\u{7F}\""),
        ("é€😀", "\"é€😀\""),
        ("\u{2028}\u{2029}", "\"\u{2028}\u{2029}\""),
        ("say \"hi\"\\n", #""say \"hi\"\\n""#),
        ("</script>", #""</script>""#),
    ]

    @Test(arguments: strings)
    func escapesStrings(value: String, json: String) throws {
        #expect(JSONSerializer.string(.string(value)) == json)
        #expect(try JSONParser.parse(json) == .string(value))
    }

    @Test func escapesKeys() {
        let value: Value = ["a\"b": 1, "c\nd": 2]
        #expect(JSONSerializer.string(value) == #"{"a\"b":1,"c\nd":2}"#)
    }

    static let scalars: [(value: Value, json: String)] = [
        (nil, "null"),
        (true, "true"),
        (false, "false"),
        (0, "0"),
        (-7, "-7"),
        (.int(.max), "9223372036854775807"),
        (.int(.min), "-9223372036854775808"),
        (.double(0), "0.0"),
        (.double(-0.0), "-0.0"),
        (.double(1), "1.0"),
        (.double(2), "2.0"),
        (.double(-1.5), "-1.5"),
        (.double(0.1), "0.1"),
        (.double(4.75), "4.75"),
        (.double(123_456), "123456.0"),
        (.double(1e-7), "1e-07"),
        (.double(1e16), "1e+16"),
        (.double(1.5e300), "1.5e+300"),
        (.double(.leastNonzeroMagnitude), "5e-324"),
        (.double(.greatestFiniteMagnitude), "1.7976931348623157e+308"),
        (.double(.infinity), "null"),
        (.double(-.infinity), "null"),
        (.double(.nan), "null"),
        (.double(.signalingNaN), "null"),
    ]

    @Test(arguments: scalars)
    func serializesScalar(value: Value, json: String) {
        #expect(JSONSerializer.string(value) == json)
        #expect(value.description == json)
    }

    @Test func doublesAlwaysReadBackAsDoubles() throws {
        for double in [0.0, 1, -1, 2, 100, 1e15, 1e16, 1e21, 1e22, 9_007_199_254_740_992, -123_456_789] {
            let json = JSONSerializer.string(.double(double))
            #expect(json.contains(".") || json.contains("e"), "\(json) has no fraction or exponent")
            #expect(try JSONParser.parse(json) == .double(double))
        }
    }

    @Test func nonFiniteInsideContainers() {
        let value: Value = ["a": [.double(.nan), .double(.infinity), 1.5]]
        #expect(JSONSerializer.string(value) == #"{"a":[null,null,1.5]}"#)
    }

    @Test func compact() {
        let value: Value = ["a": [1, 2.5, "x", true, false, nil], "b": [:], "c": [], "d": ["e": ["f": 1]]]
        #expect(JSONSerializer.string(value) == #"{"a":[1,2.5,"x",true,false,null],"b":{},"c":[],"d":{"e":{"f":1}}}"#)
        #expect(JSONSerializer.string(value, options: .compact) == JSONSerializer.string(value))
    }

    @Test func pretty() {
        let value: Value = ["a": [1, 2], "b": [:], "c": [], "d": ["e": "f"]]
        let expected = """
            {
              "a": [
                1,
                2
              ],
              "b": {},
              "c": [],
              "d": {
                "e": "f"
              }
            }
            """
        #expect(JSONSerializer.string(value, options: .pretty) == expected)
    }

    @Test func prettyWithFourSpacesAndScalars() {
        #expect(
            JSONSerializer.string([[1]], options: JSONSerializer.Options(indent: 4)) == "[\n    [\n        1\n    ]\n]")
        #expect(JSONSerializer.string(5, options: .pretty) == "5")
        #expect(JSONSerializer.string([], options: .pretty) == "[]")
        #expect(JSONSerializer.string([:], options: .pretty) == "{}")
    }

    @Test func sortKeys() {
        let value: Value = ["zeta": 1, "alpha": ["y": 1, "b": 2], "mid": [["k2": 1, "k1": 2]]]
        let sorted = JSONSerializer.Options(sortKeys: true)
        #expect(
            JSONSerializer.string(value, options: sorted)
                == #"{"alpha":{"b":2,"y":1},"mid":[{"k1":2,"k2":1}],"zeta":1}"#)
        #expect(JSONSerializer.string(value) == #"{"zeta":1,"alpha":{"y":1,"b":2},"mid":[{"k2":1,"k1":2}]}"#)
        let prettySorted = JSONSerializer.Options(indent: 1, sortKeys: true)
        #expect(JSONSerializer.string(["b": 1, "a": 2], options: prettySorted) == "{\n \"a\": 2,\n \"b\": 1\n}")
    }

    @Test func bytesStringAndAppendAgree() {
        let value: Value = ["k": ["é", 1, 2.5, nil]]
        var output = Array("prefix:".utf8)
        JSONSerializer.append(value, to: &output)
        #expect(output == Array("prefix:".utf8) + JSONSerializer.bytes(value))
        #expect(String(decoding: JSONSerializer.bytes(value), as: UTF8.self) == JSONSerializer.string(value))
    }

    @Test(arguments: [
        Int64.min, .min + 1, -1_000_000_007, -10, -9, -1, 0, 1, 9, 10, 99, 100, 1_732_200_000_123, .max - 1, .max,
    ])
    func integersRoundTrip(_ integer: Int64) throws {
        let json = JSONSerializer.string(.int(integer))
        #expect(json == String(integer))
        #expect(try JSONParser.parse(json) == .int(integer))
    }

    /// Every finite double, serialized and parsed again, has the same bits.
    @Test func doublesRoundTripBitExact() throws {
        var random = SeededRandom(seed: 0xD0B1E)
        var specials: [Double] = [
            0, -0.0, 1, -1, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, .pi, .ulpOfOne, 1 + .ulpOfOne, .leastNonzeroMagnitude,
            -.leastNonzeroMagnitude, .leastNormalMagnitude, .leastNormalMagnitude.nextDown, .greatestFiniteMagnitude,
            -.greatestFiniteMagnitude, 9_007_199_254_740_991, 9_007_199_254_740_994, 1e22, 1e23, 1.7e308,
            123_456_789.123_456_78, 4.35, 0.000_001, 1e-7,
        ]
        for power in -30...30 { specials.append(Double(sign: .plus, exponent: power, significand: 1)) }
        var cases = specials
        for _ in 0..<20_000 {
            let double = Double(bitPattern: random.next())
            if double.isFinite { cases.append(double) }
        }
        for _ in 0..<5_000 {
            // Short decimals, which take the parser's fast path.
            let mantissa = Double(random.int(-999_999...999_999))
            cases.append(mantissa * pow10(random.int(-20...20)))
        }
        var mismatches: [Double] = []
        for double in cases {
            let json = JSONSerializer.string(.double(double))
            guard case .double(let parsed) = try JSONParser.parse(json), parsed.bitPattern == double.bitPattern else {
                mismatches.append(double)
                continue
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    /// `10^exponent`, computed exactly enough for test data.
    func pow10(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<abs(exponent) { result *= 10 }
        return exponent < 0 ? 1 / result : result
    }
}
