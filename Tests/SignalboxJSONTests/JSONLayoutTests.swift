import SignalboxJSON
import Testing

/// The layout scanner must accept exactly what the parser accepts, and each member it records
/// must decode to what a full parse gives.
@Suite(.timeLimit(.minutes(1)))
struct JSONLayoutTests {
    static let seeds: [UInt64] = [11, 12, 13]

    /// Checks one input against the parser; returns whether it was accepted.
    @discardableResult
    func agreesWithParser(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let parsed = try? JSONParser.parse(bytes)
        let layout = JSONLayout(validating: bytes)
        #expect(
            (parsed != nil) == (layout != nil), "\(String(decoding: bytes, as: UTF8.self))",
            sourceLocation: sourceLocation)
        guard let parsed, let layout else { return false }
        guard case .object(let object) = parsed else {
            #expect(!layout.isObject && layout.members.isEmpty, sourceLocation: sourceLocation)
            return true
        }
        #expect(layout.isObject, sourceLocation: sourceLocation)
        // Every recorded member decodes; the last occurrence of each key holds the parser's value.
        var last: [String: Value] = [:]
        bytes.withUnsafeBufferPointer { buffer in
            for index in layout.members.indices {
                let member = layout.members[index]
                let quoted = UnsafeBufferPointer(rebasing: buffer[Int(member.keyStart - 1)..<Int(member.keyEnd + 1)])
                guard case .string(let key)? = try? JSONParser.parse(buffer: quoted).get(),
                    let value = layout.value(ofMember: index, in: buffer)
                else {
                    Issue.record("member \(index) does not decode", sourceLocation: sourceLocation)
                    continue
                }
                last[key] = value
            }
        }
        #expect(last.count == object.count, sourceLocation: sourceLocation)
        for member in object { #expect(last[member.key] == member.value, sourceLocation: sourceLocation) }
        return true
    }

    @Test(arguments: seeds)
    func generatedDocumentsAgree(seed: UInt64) {
        var generator = JSONGenerator(seed: seed)
        for _ in 0..<1_000 {
            let value = generator.value(depth: 4)
            agreesWithParser(Array(generator.text(value).utf8))
            agreesWithParser(JSONSerializer.bytes(value))
            agreesWithParser(JSONSerializer.bytes(.object(["wrapped": value, "n": 1])))
        }
    }

    @Test(arguments: seeds)
    func mutatedDocumentsAgree(seed: UInt64) {
        var generator = JSONGenerator(seed: seed &+ 5)
        var accepted = 0
        var rejected = 0
        for _ in 0..<1_000 {
            let value = generator.value(depth: 4)
            let original = JSONSerializer.bytes(.object(["a": value, "b": "text", "c": 1.5]))
            for _ in 0..<4 {
                var bytes = original
                for _ in 0..<generator.random.int(1...3) {
                    JSONPropertyTests().mutate(&bytes, using: &generator.random)
                }
                if agreesWithParser(bytes) { accepted += 1 } else { rejected += 1 }
            }
        }
        #expect(accepted > 0)
        #expect(rejected > 0)
    }

    @Test(arguments: [
        #"{"a":1,"b":"x","a":2}"#, #"{"k\u0065y":true,"s":"\"q\""}"#,
        #"  {"n":-0.5e-3, "big":123456789012345678901}  "#,
        #"{"z":0,"d":1.25,"neg":-7,"arr":[1,[2,{"x":null}]],"obj":{"y":{}}}"#, "[1,2]", "7", #""s""#, "null",
        "{}", #"{"leading":01}"#, #"{"dot":1.}"#, #"{"exp":1e}"#, #"{"inf":1e400}"#, #"{"a":1,}"#, #"{"a" 1}"#,
        #"{"a":tru}"#, "{\"ctl\":\"\u{01}\"}", #"{"a":1}x"#, "",
    ])
    func handWrittenCases(_ text: String) {
        agreesWithParser(Array(text.utf8))
    }

    @Test func nestingLimitIsTheParsers() {
        let deep = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        let tooDeep = "{\"a\":" + String(repeating: "[", count: 128) + String(repeating: "]", count: 128) + "}"
        agreesWithParser(Array(deep.utf8))
        agreesWithParser(Array(tooDeep.utf8))
        #expect(JSONLayout(validating: Array(tooDeep.utf8)) == nil)
    }
}
