import SignalboxJSON
import Testing

/// Strings: escapes, surrogate pairs, UTF-8 validation and control characters.
struct JSONParserStringTests {
    // MARK: Escapes

    static let escapes: [(json: String, expected: String)] = [
        (#""\"""#, "\""),
        (#""\\""#, "\\"),
        (#""\/""#, "/"),
        (#""\b""#, "\u{08}"),
        (#""\f""#, "\u{0C}"),
        (#""\n""#, "\n"),
        (#""\r""#, "\r"),
        (#""\t""#, "\t"),
        (#""\u0041""#, "A"),
        (#""\u0000""#, "\u{0}"),
        (#""\u001f""#, "\u{1F}"),
        (#""\u007F""#, "\u{7F}"),
        (#""\u00e9""#, "é"),
        (#""\u00E9""#, "é"),
        (#""\u07FF""#, "\u{7FF}"),
        (#""\u20AC""#, "€"),
        (#""\uD7FF""#, "\u{D7FF}"),
        (#""\uE000""#, "\u{E000}"),
        (#""\uFFFF""#, "\u{FFFF}"),
        (#""\uD800\uDC00""#, "\u{10000}"),
        (#""\uD83D\uDE00""#, "😀"),
        (#""\ud83d\ude00""#, "😀"),
        (#""\uD834\uDD1E""#, "𝄞"),
        (#""\uDBFF\uDFFF""#, "\u{10FFFF}"),
        (#""a\tb\u00e9c\uD834\uDD1E!""#, "a\tbéc𝄞!"),
        (#""é\n😀\"""#, "é\n😀\""),
        (#""\\u0041""#, "\\u0041"),
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{08}\u{0C}\n\r\t"),
    ]

    @Test(arguments: escapes)
    func decodesEscape(json: String, expected: String) throws {
        #expect(try JSONParser.parse(json) == .string(expected))
    }

    @Test(arguments: escapes)
    func decodesEscapeInKey(json: String, expected: String) throws {
        let value = try JSONParser.parse("{\(json): 1}")
        #expect(value[expected] == .int(1))
    }

    static let badEscapes: [Rejection] = [
        Rejection(#""\x""#, .invalidEscape, at: 1),
        Rejection(#""\a""#, .invalidEscape, at: 1),
        Rejection(#""\'""#, .invalidEscape, at: 1),
        Rejection(#""\0""#, .invalidEscape, at: 1),
        Rejection(#""\U0041""#, .invalidEscape, at: 1),
        Rejection(#""ab\x""#, .invalidEscape, at: 3),
        Rejection(#""\u12G4""#, .invalidEscape, at: 1),
        Rejection(#""\u 123""#, .invalidEscape, at: 1),
        Rejection(#""\u12""#, .invalidEscape, at: 1),
        Rejection(#""\u""#, .invalidEscape, at: 1),
        Rejection(#""\u12"#, .unexpectedEnd, at: 5),
        Rejection(#""\"#, .unexpectedEnd, at: 2),
        // Lone and misordered surrogates.
        Rejection(#""\uD800""#, .invalidEscape, at: 1),
        Rejection(#""\uDBFF""#, .invalidEscape, at: 1),
        Rejection(#""\uD800x""#, .invalidEscape, at: 1),
        Rejection(#""\uD800\n""#, .invalidEscape, at: 1),
        Rejection(#""\uD800\u0041""#, .invalidEscape, at: 1),
        Rejection(#""\uD800\uD800""#, .invalidEscape, at: 1),
        Rejection(#""\uD800\uE000""#, .invalidEscape, at: 1),
        Rejection(#""\uDC00""#, .invalidEscape, at: 1),
        Rejection(#""\uDFFF""#, .invalidEscape, at: 1),
        Rejection(#""\uDC00\uD800""#, .invalidEscape, at: 1),
        Rejection(#""ok \uDE00""#, .invalidEscape, at: 4),
        Rejection(#""\uD800\u12""#, .invalidEscape, at: 1),
        Rejection(#""\uD800\u"#, .unexpectedEnd, at: 9),
        Rejection(#"{"\uDE00": 1}"#, .invalidEscape, at: 2),
    ]

    @Test(arguments: badEscapes)
    func rejectsBadEscape(_ rejection: Rejection) {
        expectRejected(rejection)
    }

    // MARK: UTF-8

    static let validUTF8: [(bytes: [UInt8], expected: String)] = [
        ([0xC2, 0x80], "\u{80}"),
        ([0xC3, 0xA9], "é"),
        ([0xDF, 0xBF], "\u{7FF}"),
        ([0xE0, 0xA0, 0x80], "\u{800}"),
        ([0xE2, 0x82, 0xAC], "€"),
        ([0xED, 0x9F, 0xBF], "\u{D7FF}"),
        ([0xEE, 0x80, 0x80], "\u{E000}"),
        ([0xEF, 0xBF, 0xBF], "\u{FFFF}"),
        ([0xEF, 0xBB, 0xBF], "\u{FEFF}"),
        ([0xF0, 0x90, 0x80, 0x80], "\u{10000}"),
        ([0xF0, 0x9F, 0x98, 0x80], "😀"),
        ([0xF3, 0xBF, 0xBF, 0xBF], "\u{FFFFF}"),
        ([0xF4, 0x8F, 0xBF, 0xBF], "\u{10FFFF}"),
    ]

    @Test(arguments: validUTF8)
    func acceptsValidUTF8(bytes: [UInt8], expected: String) throws {
        #expect(try JSONParser.parse(quoted(bytes)) == .string(expected))
        // The same bytes after an escape take the slow path.
        #expect(try JSONParser.parse(quoted(Array(#"\n"#.utf8) + bytes)) == .string("\n" + expected))
    }

    /// Ill-formed UTF-8 in a string, reported at the first byte of the ill-formed sequence.
    static let invalidUTF8: [Rejection] = [
        Rejection("lone continuation 0x80", quoted([0x80]), .invalidUTF8, at: 1),
        Rejection("lone continuation 0xBF", quoted([0xBF]), .invalidUTF8, at: 1),
        Rejection("continuation after ASCII", quoted([0x41, 0x80]), .invalidUTF8, at: 2),
        Rejection("overlong NUL C0 80", quoted([0xC0, 0x80]), .invalidUTF8, at: 1),
        Rejection("overlong C1 BF", quoted([0xC1, 0xBF]), .invalidUTF8, at: 1),
        Rejection("overlong 3-byte E0 80 80", quoted([0xE0, 0x80, 0x80]), .invalidUTF8, at: 1),
        Rejection("overlong 3-byte E0 9F BF", quoted([0xE0, 0x9F, 0xBF]), .invalidUTF8, at: 1),
        Rejection("overlong 4-byte F0 80 80 80", quoted([0xF0, 0x80, 0x80, 0x80]), .invalidUTF8, at: 1),
        Rejection("overlong 4-byte F0 8F BF BF", quoted([0xF0, 0x8F, 0xBF, 0xBF]), .invalidUTF8, at: 1),
        Rejection("surrogate U+D800 in UTF-8", quoted([0xED, 0xA0, 0x80]), .invalidUTF8, at: 1),
        Rejection("surrogate U+DFFF in UTF-8", quoted([0xED, 0xBF, 0xBF]), .invalidUTF8, at: 1),
        Rejection("CESU-8 pair", quoted([0xED, 0xA0, 0xBD, 0xED, 0xB2, 0xA9]), .invalidUTF8, at: 1),
        Rejection("above U+10FFFF F4 90", quoted([0xF4, 0x90, 0x80, 0x80]), .invalidUTF8, at: 1),
        Rejection("lead byte F5", quoted([0xF5, 0x80, 0x80, 0x80]), .invalidUTF8, at: 1),
        Rejection("5-byte form F8", quoted([0xF8, 0x88, 0x80, 0x80, 0x80]), .invalidUTF8, at: 1),
        Rejection("byte FE", quoted([0xFE]), .invalidUTF8, at: 1),
        Rejection("byte FF", quoted([0xFF]), .invalidUTF8, at: 1),
        Rejection("truncated 2-byte", quoted([0xC3]), .invalidUTF8, at: 1),
        Rejection("truncated 3-byte", quoted([0xE2, 0x82]), .invalidUTF8, at: 1),
        Rejection("truncated 4-byte", quoted([0xF0, 0x9F, 0x98]), .invalidUTF8, at: 1),
        Rejection("truncated 3-byte then ASCII", quoted([0xE2, 0x82, 0x41]), .invalidUTF8, at: 1),
        Rejection("truncated 4-byte then ASCII", quoted([0xF0, 0x9F, 0x41, 0x41]), .invalidUTF8, at: 1),
        Rejection("two lead bytes", quoted([0xC3, 0xC3, 0xA9]), .invalidUTF8, at: 1),
        Rejection("truncated at end of input", [0x22, 0xE2, 0x82], .invalidUTF8, at: 1),
        Rejection("after a valid character", quoted([0xC3, 0xA9, 0x80]), .invalidUTF8, at: 3),
        Rejection("after an escape", quoted(Array(#"\n"#.utf8) + [0xED, 0xA0, 0x80]), .invalidUTF8, at: 3),
        Rejection("truncated after an escape", quoted(Array(#"\t"#.utf8) + [0xF0, 0x9F, 0x98]), .invalidUTF8, at: 3),
        Rejection("in a key", Array(#"{""#.utf8) + [0xFF] + Array(#"":1}"#.utf8), .invalidUTF8, at: 2),
        Rejection(
            "on line 3", Array("[\n1,\n  \"".utf8) + [0xC0, 0xAF] + Array("\"]".utf8), .invalidUTF8, at: 8),
        Rejection("outside a string", [0x5B, 0xC3, 0xA9, 0x5D], .unexpectedCharacter, at: 1),
        Rejection("at top level", [0xFF], .unexpectedCharacter, at: 0),
    ]

    @Test(arguments: invalidUTF8)
    func rejectsInvalidUTF8(_ rejection: Rejection) {
        expectRejected(rejection)
    }

    @Test func reportsLineAndColumnOfInvalidUTF8() throws {
        let document = Array("{\n  \"name\": \"caf".utf8) + [0xE9] + Array("\"\n}".utf8)
        let error = try #require(parseError(document))
        #expect(error.code == .invalidUTF8)
        #expect(error.offset == 16)
        #expect(error.line == 2)
        #expect(error.column == 15)
    }

    // MARK: Control characters

    @Test(arguments: 0x00..<0x20)
    func rejectsRawControlCharacter(_ byte: Int) {
        let byte = UInt8(byte)
        expectRejected(Rejection("raw", quoted([0x61, byte, 0x62]), .controlCharacterInString, at: 2))
        expectRejected(Rejection("after escape", quoted(Array(#"\n"#.utf8) + [byte]), .controlCharacterInString, at: 3))
        expectRejected(
            Rejection("in key", Array(#"{"a"#.utf8) + [byte] + Array(#"":1}"#.utf8), .controlCharacterInString, at: 3))
    }

    @Test func acceptsDeleteAndC1Characters() throws {
        #expect(try JSONParser.parse(quoted([0x7F])) == .string("\u{7F}"))
        #expect(try JSONParser.parse(quoted([0xC2, 0x85])) == .string("\u{85}"))
        #expect(try JSONParser.parse(quoted([0xE2, 0x80, 0xA8])) == .string("\u{2028}"))
    }

    // MARK: Unterminated strings

    static let unterminated: [Rejection] = [
        Rejection(#"""#, .unexpectedEnd, at: 0),
        Rejection(#""abc"#, .unexpectedEnd, at: 0),
        Rejection(#""ab\"c"#, .unexpectedEnd, at: 0),
        Rejection(#"["x", "abc"#, .unexpectedEnd, at: 6),
        Rejection(#"{"abc"#, .unexpectedEnd, at: 1),
    ]

    @Test(arguments: unterminated)
    func rejectsUnterminatedString(_ rejection: Rejection) {
        expectRejected(rejection)
    }

    @Test func keepsLongStringsIntact() throws {
        let text = String(repeating: "é😀a\u{7FF}", count: 10_000)
        #expect(try JSONParser.parse(JSONSerializer.string(.string(text))) == .string(text))
        let escaped = "\"" + String(repeating: #"\u00e9\uD83D\uDE00a"#, count: 10_000) + "\""
        #expect(try JSONParser.parse(escaped) == .string(String(repeating: "é😀a", count: 10_000)))
    }

    @Test func emptyString() throws {
        #expect(try JSONParser.parse(#""""#) == .string(""))
        #expect(try JSONParser.parse(#"{"":""}"#) == ["": ""])
    }
}
