import SignalboxJSON
import SignalboxTestSupport
import Testing

/// Property tests over thousands of seeded random documents: round trips, and parsing arbitrary
/// bytes never crashes, always ends quickly, and reports consistent positions.
///
/// Every case is reproducible from the seed in the test's arguments.
@Suite(.timeLimit(.minutes(1)))
struct JSONPropertyTests {
    static let seeds: [UInt64] = [1, 2, 3, 0x5EED]

    @Test(arguments: seeds)
    func serializeThenParseGivesTheSameValue(seed: UInt64) throws {
        var generator = JSONGenerator(seed: seed)
        let layouts: [JSONSerializer.Options] = [.compact, .pretty, JSONSerializer.Options(indent: 1, sortKeys: true)]
        for _ in 0..<1_000 {
            let value = generator.value()
            for layout in layouts {
                let bytes = JSONSerializer.bytes(value, options: layout)
                let parsed = try JSONParser.parse(bytes)
                #expect(parsed == value)
                // Serialization is a function of the value: the text is stable after one round.
                #expect(JSONSerializer.bytes(parsed, options: layout) == bytes)
            }
        }
    }

    @Test(arguments: seeds)
    func differentSpellingsParseToTheSameValue(seed: UInt64) throws {
        var generator = JSONGenerator(seed: seed &* 31)
        for _ in 0..<1_000 {
            let value = generator.value()
            let text = generator.text(value)
            #expect(try JSONParser.parse(text) == value, "\(text)")
        }
    }

    @Test(arguments: seeds)
    func doublesKeepTheirBitsThroughAnySpelling(seed: UInt64) throws {
        var generator = JSONGenerator(seed: seed &+ 1_000)
        for _ in 0..<5_000 {
            let double = generator.double()
            let text = generator.number(double)
            guard case .double(let parsed) = try JSONParser.parse(text) else {
                Issue.record("\(text) did not parse as a double")
                continue
            }
            #expect(parsed.bitPattern == double.bitPattern, "\(text)")
        }
    }

    /// Objects with many repeated keys parse like a reference model: one member per key, at the
    /// key's first position, holding its last value.
    @Test(arguments: seeds)
    func duplicateKeysMatchAReferenceModel(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let keys = (0..<40).map { "k\($0)" } + ["", "a", "é", "\u{1F600}", "A\"B"]
        for _ in 0..<500 {
            var expectedKeys: [String] = []
            var expectedValues: [String: Int64] = [:]
            var members: [String] = []
            for value in 0..<Int64(random.int(0...60)) {
                let key = random.pick(keys)
                if expectedValues[key] == nil { expectedKeys.append(key) }
                expectedValues[key] = value
                members.append(JSONSerializer.string(.string(key)) + ":" + String(value))
            }
            guard case .object(let object) = try JSONParser.parse("{" + members.joined(separator: ",") + "}") else {
                Issue.record("expected an object")
                continue
            }
            #expect(object.keys == expectedKeys)
            for key in expectedKeys { #expect(object[key] == expectedValues[key].map(Value.int)) }
        }
    }

    // MARK: Hostile input

    /// Bytes that matter to a JSON parser, so random input gets past the first character.
    static let interestingBytes: [UInt8] =
        Array(#"{}[]:,"\ \/bfnrtu0123456789-+.eE truefalsenull"#.utf8) + [
            0x00, 0x0A, 0x1F, 0x7F, 0x80, 0xBF, 0xC0,
            0xC3, 0xA9, 0xE2, 0x82, 0xED, 0xA0, 0xF0, 0x9F, 0xF4, 0x90, 0xFF,
        ]

    @Test(arguments: seeds)
    func randomBytesNeverCrash(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var accepted = 0
        for _ in 0..<5_000 {
            let count = random.chance(0.9) ? random.int(0...48) : random.int(0...2_048)
            let bytes: [UInt8] =
                random.chance(0.3)
                ? random.bytes(count: count) : (0..<count).map { _ in random.pick(Self.interestingBytes) }
            if checkParse(bytes) { accepted += 1 }
        }
        #expect(accepted > 0)
    }

    @Test(arguments: seeds)
    func mutatedDocumentsNeverCrash(seed: UInt64) {
        var generator = JSONGenerator(seed: seed &+ 77)
        var accepted = 0
        var rejected = 0
        for _ in 0..<2_000 {
            let value = generator.value(depth: 4)
            let original: [UInt8] =
                generator.random.chance(0.5) ? Array(generator.text(value).utf8) : JSONSerializer.bytes(value)
            for _ in 0..<5 {
                var bytes = original
                for _ in 0..<generator.random.int(1...4) { mutate(&bytes, using: &generator.random) }
                if checkParse(bytes) { accepted += 1 } else { rejected += 1 }
            }
        }
        #expect(accepted > 0)
        #expect(rejected > 0)
    }

    /// Inputs built to be slow if the parser were quadratic anywhere; each must parse (or fail)
    /// within 10 s. Linear parsing takes well under a second even in a debug build; quadratic work
    /// over a megabyte would take minutes, so the bound catches it while a loaded machine does not
    /// fail the test.
    @Test func largeInputsFinishQuickly() {
        let megabyte = 1 << 20
        let inputs: [(String, [UInt8])] = [
            ("whitespace", Array(repeating: 0x20, count: megabyte) + [0x31]),
            ("digits", Array(repeating: UInt8(ascii: "7"), count: megabyte)),
            ("fraction", Array("0.".utf8) + Array(repeating: UInt8(ascii: "3"), count: megabyte)),
            ("exponent", Array("1e".utf8) + Array(repeating: UInt8(ascii: "9"), count: megabyte)),
            ("escapes", quoted(Array(String(repeating: #"\u00e9\n"#, count: megabyte / 8).utf8))),
            ("surrogates", quoted(Array(String(repeating: #"\uD83D\uDE00"#, count: megabyte / 12).utf8))),
            ("raw UTF-8", quoted(Array(String(repeating: "é😀", count: megabyte / 6).utf8))),
            ("unterminated", [0x22] + Array(repeating: UInt8(ascii: "a"), count: megabyte)),
            ("many keys", Array(("{" + (0..<50_000).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + "}").utf8)),
            ("same key", Array(("{" + String(repeating: #""k":1,"#, count: 100_000) + #""k":2}"#).utf8)),
            ("wide array", Array(("[" + String(repeating: "0,", count: megabyte / 2) + "0]").utf8)),
            (
                "error at end",
                Array(String(repeating: "[1,\n", count: 100).utf8) + Array(repeating: 0x0A, count: megabyte)
            ),
            ("deep", Array(repeating: UInt8(ascii: "["), count: megabyte)),
        ]
        for (name, bytes) in inputs {
            let start = ContinuousClock.now
            _ = checkParse(bytes)
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(10), "\(name) took \(elapsed)")
        }
    }

    // MARK: Helpers

    /// Parses `bytes`; checks that an error's position is consistent and that an accepted document
    /// round-trips. Returns whether the document was accepted.
    @discardableResult
    func checkParse(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        switch parseResult(bytes) {
        case .success(let value):
            let again = parseResult(JSONSerializer.bytes(value))
            #expect(again == .success(value), "\(bytes)", sourceLocation: sourceLocation)
            return true
        case .failure(let error):
            #expect((0...bytes.count).contains(error.offset), sourceLocation: sourceLocation)
            let (line, column) = lineAndColumn(of: error.offset, in: bytes)
            #expect(error.line == line && error.column == column, sourceLocation: sourceLocation)
            #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
            return false
        }
    }

    /// Applies one random edit: flip a bit, insert, delete, duplicate or move a range, truncate,
    /// or splice in a structural fragment.
    func mutate(_ bytes: inout [UInt8], using random: inout SeededRandom) {
        let fragments = ["{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\uD800", "-", "0", ".", "e", "tru", "null"]
        let position = bytes.isEmpty ? 0 : random.int(0...bytes.count)
        switch random.int(0..<8) {
        case 0 where position < bytes.count:
            bytes[position] ^= UInt8(1) << UInt8(random.int(0..<8))
        case 1:
            bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
        case 2 where position < bytes.count:
            bytes.remove(at: position)
        case 3 where position < bytes.count:
            let end = min(bytes.count, position + random.int(1...16))
            bytes.insert(contentsOf: bytes[position..<end], at: random.int(0...bytes.count))
        case 4:
            bytes.removeLast(bytes.count - position)
        case 5 where position < bytes.count:
            bytes[position] = random.pick(JSONPropertyTests.interestingBytes)
        default:
            bytes.insert(contentsOf: Array(random.pick(fragments).utf8), at: position)
        }
    }
}
