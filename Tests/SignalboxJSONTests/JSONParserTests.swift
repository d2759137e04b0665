import SignalboxJSON
import Testing

/// Documents as a whole: literals, arrays, objects, whitespace, trailing data, nesting and positions.
struct JSONParserTests {
    static let accepted: [(json: String, expected: Value)] = [
        ("null", nil),
        ("true", true),
        ("false", false),
        ("[]", []),
        ("{}", [:]),
        ("[1, \"two\", 3.0, true, false, null]", [1, "two", 3.0, true, false, nil]),
        (#"{"a": {"b": [1, {"c": null}]}}"#, ["a": ["b": [1, ["c": nil]]]]),
        ("[[], {}, [[]], [{}]]", [[], [:], [[]], [[:]]]),
        (" \t\r\n[ 1 ,\t2\r\n,\n3 ] \n\t\r ", [1, 2, 3]),
        ("\n{ \"k\"\t:\r\n\"v\" ,\"n\" : [ ] }\n", ["k": "v", "n": []]),
        ("  42  ", 42),
        ("\"\"", ""),
    ]

    @Test(arguments: accepted)
    func parses(json: String, expected: Value) throws {
        #expect(try JSONParser.parse(json) == expected)
        #expect(try JSONParser.parse(Array(json.utf8)) == expected)
    }

    static let rejected: [Rejection] = [
        Rejection("", .unexpectedEnd, at: 0),
        Rejection("   ", .unexpectedEnd, at: 3),
        Rejection("[", .unexpectedEnd, at: 1),
        Rejection("[1", .unexpectedEnd, at: 2),
        Rejection("[1,", .unexpectedEnd, at: 3),
        Rejection("[1,]", .unexpectedCharacter, at: 3),
        Rejection("[,1]", .unexpectedCharacter, at: 1),
        Rejection("[1 2]", .unexpectedCharacter, at: 3),
        Rejection("[1:2]", .unexpectedCharacter, at: 2),
        Rejection("{", .unexpectedEnd, at: 1),
        Rejection(#"{"a""#, .unexpectedEnd, at: 4),
        Rejection(#"{"a":"#, .unexpectedEnd, at: 5),
        Rejection(#"{"a":1"#, .unexpectedEnd, at: 6),
        Rejection(#"{"a":1,"#, .unexpectedEnd, at: 7),
        Rejection(#"{"a":1,}"#, .unexpectedCharacter, at: 7),
        Rejection("{a:1}", .unexpectedCharacter, at: 1),
        Rejection("{'a':1}", .unexpectedCharacter, at: 1),
        Rejection("{1:1}", .unexpectedCharacter, at: 1),
        Rejection(#"{"a" 1}"#, .unexpectedCharacter, at: 5),
        Rejection(#"{"a"=1}"#, .unexpectedCharacter, at: 4),
        Rejection(#"{"a":1 "b":2}"#, .unexpectedCharacter, at: 7),
        Rejection(#"{"a":1]"#, .unexpectedCharacter, at: 6),
        Rejection("[1}", .unexpectedCharacter, at: 2),
        Rejection("tru", .unexpectedEnd, at: 0),
        Rejection("nul", .unexpectedEnd, at: 0),
        Rejection("trux", .unexpectedCharacter, at: 3),
        Rejection("fals3", .unexpectedCharacter, at: 4),
        Rejection("True", .unexpectedCharacter, at: 0),
        Rejection("NULL", .unexpectedCharacter, at: 0),
        Rejection("undefined", .unexpectedCharacter, at: 0),
        Rejection("]", .unexpectedCharacter, at: 0),
        Rejection("}", .unexpectedCharacter, at: 0),
        Rejection(",", .unexpectedCharacter, at: 0),
        // Trailing data.
        Rejection("nulll", .trailingData, at: 4),
        Rejection("truefalse", .trailingData, at: 4),
        Rejection("[]]", .trailingData, at: 2),
        Rejection("{}}", .trailingData, at: 2),
        Rejection("1 2", .trailingData, at: 2),
        Rejection(#""a" "b""#, .trailingData, at: 4),
        Rejection("[1],", .trailingData, at: 3),
        Rejection("{} {}", .trailingData, at: 3),
        Rejection("[1]//", .trailingData, at: 3),
        Rejection("1\u{0}", .trailingData, at: 1),
        // Only space, tab, CR and LF are whitespace.
        Rejection("[1]\u{0C}", .trailingData, at: 3),
        Rejection("\u{0B}1", .unexpectedCharacter, at: 0),
        Rejection("\u{FEFF}1", .unexpectedCharacter, at: 0),
        Rejection("\u{A0}1", .unexpectedCharacter, at: 0),
        Rejection("[1,\u{2028}2]", .unexpectedCharacter, at: 3),
        Rejection("/* c */ 1", .unexpectedCharacter, at: 0),
    ]

    @Test(arguments: rejected)
    func rejects(_ rejection: Rejection) {
        expectRejected(rejection)
    }

    // MARK: Positions

    @Test func reportsLineAndColumn() throws {
        let error = try #require(parseError("{\n  \"a\": 1,\n  \"b\": x\n}"))
        #expect(error.code == .unexpectedCharacter)
        #expect(error.offset == 19)
        #expect(error.line == 3)
        #expect(error.column == 8)
        #expect(error.description.hasPrefix("invalid JSON at line 3, column 8: "))
    }

    @Test func countsCRLFAsOneLineBreak() throws {
        let error = try #require(parseError("[\r\n1,\r\n]"))
        #expect(error.offset == 7)
        #expect(error.line == 3)
        #expect(error.column == 1)
    }

    @Test func countsColumnsInBytes() throws {
        let error = try #require(parseError("[\"é\", x]"))
        #expect(error.offset == 7)
        #expect(error.line == 1)
        #expect(error.column == 8)
    }

    @Test func errorMessagesDoNotQuoteContent() throws {
        let documents = [
            #"{"password": "hunter2" x}"#, #"{"password": "hunter2"#, #"{"password": hunter2}"#,
            #"{"password": "hunter2\q"}"#, #"["hunter2", 01]"#,
        ]
        for document in documents {
            let error = try #require(parseError(document))
            #expect(!error.message.contains("hunter2"))
            #expect(!error.message.contains("password"))
            #expect(!error.description.contains("hunter2"))
        }
    }

    // MARK: Nesting

    static func nestedArrays(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    static func nestedObjects(_ depth: Int) -> String {
        String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
    }

    @Test func acceptsDefaultMaximumDepth() throws {
        _ = try JSONParser.parse(Self.nestedArrays(128))
        _ = try JSONParser.parse(Self.nestedObjects(128))
        _ = try JSONParser.parse(String(repeating: #"[{"a":"#, count: 64) + "1" + String(repeating: "}]", count: 64))
    }

    @Test func rejectsOneLevelMore() throws {
        let arrays = try #require(parseError(Self.nestedArrays(129)))
        #expect(arrays.code == .tooDeep)
        #expect(arrays.offset == 128)
        let objects = try #require(parseError(Self.nestedObjects(129)))
        #expect(objects.code == .tooDeep)
        #expect(objects.offset == 5 * 128)
    }

    @Test(arguments: [100_000, 1_000_000])
    func survivesVeryDeepNesting(_ depth: Int) {
        for document in [
            String(repeating: "[", count: depth),
            Self.nestedArrays(depth),
            String(repeating: #"{"a":"#, count: depth),
            String(repeating: #"[{"a":"#, count: depth / 2),
        ] {
            #expect(parseError(document)?.code == .tooDeep)
        }
    }

    @Test func honoursMaxDepthOption() throws {
        let two = JSONParser.Options(maxDepth: 2)
        #expect(parseError("[[1]]", options: two) == nil)
        #expect(parseError(#"{"a":[1]}"#, options: two) == nil)
        #expect(parseError("[[[1]]]", options: two)?.code == .tooDeep)
        #expect(parseError("[[[1]]]", options: two)?.offset == 2)
        let zero = JSONParser.Options(maxDepth: 0)
        #expect(parseError("1", options: zero) == nil)
        #expect(parseError(#""s""#, options: zero) == nil)
        #expect(parseError("[]", options: zero)?.code == .tooDeep)
        #expect(parseError("{}", options: zero)?.code == .tooDeep)
    }

    @Test func depthCountsNestingNotSiblings() throws {
        let siblings = "[" + Array(repeating: "[[1]]", count: 10_000).joined(separator: ",") + "]"
        guard case .array(let elements) = try JSONParser.parse(siblings, options: JSONParser.Options(maxDepth: 3))
        else {
            Issue.record("expected an array")
            return
        }
        #expect(elements.count == 10_000)
    }

    // MARK: Objects

    @Test func duplicateKeysKeepLastValueAtFirstPosition() throws {
        let value = try JSONParser.parse(#"{"a": 1, "b": 2, "a": 3}"#)
        guard case .object(let object) = value else {
            Issue.record("expected an object")
            return
        }
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == 3)
        #expect(object.count == 2)
        #expect(JSONSerializer.string(value) == #"{"a":3,"b":2}"#)
    }

    @Test func duplicateKeysInLargeObjects() throws {
        let members = (0..<20).map { #""k\#($0)": \#($0)"# } + [#""k3": "again""#, #""k19": null"#]
        guard case .object(let object) = try JSONParser.parse("{" + members.joined(separator: ",") + "}") else {
            Issue.record("expected an object")
            return
        }
        #expect(object.count == 20)
        #expect(object.keys == (0..<20).map { "k\($0)" })
        #expect(object["k3"] == "again")
        #expect(object["k19"] == .null)
        #expect(object["k4"] == 4)
    }

    /// Keys compare as Swift `String`s, by canonical equivalence, as `JSONObject` lookups do: a
    /// decomposed "é" or the Kelvin sign "\u{212A}" (which is "K") is a duplicate of its twin.
    @Test(arguments: [
        (#"{"K": 1, "\u212A": 2}"#, "K"),
        ("{\"K\": 1, \"\u{212A}\": 2}", "K"),
        ("{\"\u{212A}\": 1, \"K\": 2}", "\u{212A}"),
        (#"{"\u00e9": 1, "e\u0301": 2}"#, "é"),
        ("{\"e\u{301}\": 1, \"é\": 2}", "e\u{301}"),
    ])
    func canonicallyEquivalentKeysAreDuplicates(json: String, firstKey: String) throws {
        for padding in [0, 20] {
            // Small objects scan their members; large ones use the key index.
            let extra = (0..<padding).map { #","p\#($0)":0"# }.joined()
            let text = json.replacingOccurrences(of: "}", with: extra + "}")
            guard case .object(let object) = try JSONParser.parse(text) else {
                Issue.record("expected an object")
                return
            }
            #expect(object.count == 1 + padding)
            #expect(object.keys.first.map { Array($0.unicodeScalars) } == Array(firstKey.unicodeScalars))
            #expect(object[firstKey] == 2)
        }
    }

    @Test func keepsMemberOrder() throws {
        guard case .object(let object) = try JSONParser.parse(#"{"z":1,"a":2,"m":3}"#) else {
            Issue.record("expected an object")
            return
        }
        #expect(object.keys == ["z", "a", "m"])
    }

    // MARK: Inputs

    @Test func acceptsAnyCollectionOfBytes() throws {
        let text = #"{"deviceId":"fridge-0042","temp":4.75,"tags":["a","é"]}"#
        let expected: Value = ["deviceId": "fridge-0042", "temp": 4.75, "tags": ["a", "é"]]
        let bytes = Array(text.utf8)
        #expect(try JSONParser.parse(bytes) == expected)
        #expect(try JSONParser.parse(bytes[...]) == expected)
        #expect(try JSONParser.parse(ContiguousArray(bytes)) == expected)
        #expect(try JSONParser.parse(text.utf8) == expected)
        #expect(try JSONParser.parse(bytes.lazy.map { $0 }) == expected)
        #expect(try JSONParser.parse(Substring("xx" + text).dropFirst(2).utf8) == expected)
    }

    @Test func offsetsAreRelativeToTheSlice() throws {
        let bytes = Array("garbage[1, x]".utf8)
        let slice = bytes[7...]
        #expect(throws: JSONError.self) { try JSONParser.parse(slice) }
        do {
            _ = try JSONParser.parse(slice)
        } catch {
            #expect(error.offset == 4)
            #expect(error.column == 5)
        }
    }

    @Test func throwingAndResultAPIsAgree() {
        for text in ["[1, 2]", "[1, 2", "{\"a\": tru}", "\"\\uD800\""] {
            let viaResult = parseResult(Array(text.utf8))
            let viaThrow = Result { () throws(JSONError) -> Value in try JSONParser.parse(text) }
            #expect(viaResult == viaThrow)
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
