import SignalboxJSON
import Testing

/// A document the parser must reject, with the error it must report.
struct Rejection: Sendable, CustomTestStringConvertible {
    /// What the case exercises, shown in test output.
    var name: String
    /// The document.
    var bytes: [UInt8]
    /// The expected error code.
    var code: JSONError.Code
    /// The expected byte offset of the error.
    var offset: Int

    init(_ name: String, _ bytes: [UInt8], _ code: JSONError.Code, at offset: Int) {
        self.name = name
        self.bytes = bytes
        self.code = code
        self.offset = offset
    }

    init(_ text: String, _ code: JSONError.Code, at offset: Int) {
        self.init(text, Array(text.utf8), code, at: offset)
    }

    var testDescription: String { name }
}

/// Parses `bytes` and returns the error, or `nil` when the document was accepted.
func parseError(_ bytes: [UInt8], options: JSONParser.Options = JSONParser.Options()) -> JSONError? {
    bytes.withUnsafeBufferPointer { buffer in
        if case .failure(let error) = JSONParser.parse(buffer: buffer, options: options) { return error }
        return nil
    }
}

/// Parses `text` and returns the error, or `nil` when the document was accepted.
func parseError(_ text: String, options: JSONParser.Options = JSONParser.Options()) -> JSONError? {
    parseError(Array(text.utf8), options: options)
}

/// Parses `bytes`, returning the value or the error, without ever throwing.
func parseResult(_ bytes: [UInt8]) -> Result<Value, JSONError> {
    bytes.withUnsafeBufferPointer { JSONParser.parse(buffer: $0) }
}

/// Checks that `rejection` is rejected with its code and offset, and a consistent line and column.
func expectRejected(_ rejection: Rejection, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error = parseError(rejection.bytes) else {
        Issue.record("accepted an invalid document", sourceLocation: sourceLocation)
        return
    }
    #expect(error.code == rejection.code, sourceLocation: sourceLocation)
    #expect(error.offset == rejection.offset, sourceLocation: sourceLocation)
    let (line, column) = lineAndColumn(of: error.offset, in: rejection.bytes)
    #expect(error.line == line, sourceLocation: sourceLocation)
    #expect(error.column == column, sourceLocation: sourceLocation)
}

/// The 1-based line and byte column of `offset`, counting `\n` as the line break.
func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
    let before = bytes.prefix(offset)
    let line = before.count(where: { $0 == 0x0A }) + 1
    let lineStart = before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
    return (line, offset - lineStart + 1)
}

/// Wraps raw bytes in JSON string quotes.
func quoted(_ bytes: [UInt8]) -> [UInt8] { [0x22] + bytes + [0x22] }
