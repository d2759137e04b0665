/// Why a JSON document was rejected, and where.
///
/// The message never quotes the document's content, so it is safe to log: payload values stay out
/// of logs and error messages.
public struct JSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable identifier for the kind of error.
    public enum Code: String, Sendable {
        case unexpectedEnd = "unexpected-end"
        case unexpectedCharacter = "unexpected-character"
        case invalidNumber = "invalid-number"
        case invalidEscape = "invalid-escape"
        case invalidUTF8 = "invalid-utf8"
        case controlCharacterInString = "control-character"
        case tooDeep = "too-deep"
        case trailingData = "trailing-data"
    }

    /// The kind of error.
    public var code: Code
    /// Byte offset of the error from the start of the document.
    public var offset: Int
    /// Line number (1-based) of the error.
    public var line: Int
    /// Column number (1-based, in bytes) of the error.
    public var column: Int
    /// A short, content-free explanation.
    public var message: String

    public init(code: Code, offset: Int, line: Int, column: Int, message: String) {
        self.code = code
        self.offset = offset
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "invalid JSON at line \(line), column \(column): \(message)" }
}
