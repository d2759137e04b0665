import SignalboxCore
import SignalboxSQL

/// Replaces `${env:NAME}` and `${env:NAME:-default}` in string values with the environment's values.
///
/// `NAME` is `[A-Za-z_][A-Za-z0-9_]*`. With `:-default`, the default is used when the variable is
/// unset or empty (as in the shell); the default runs to the first `}`. A missing variable is an
/// error naming it; values never appear in errors.
struct EnvironmentSubstitution {
    /// The variables to read.
    let environment: [String: String]

    /// The bytes that start a reference.
    static let prefix = Array("${env:".utf8)

    /// Substitutes every reference in `text` (whose source is `source`), returning the located value
    /// and the problems found. A reference that cannot be resolved is replaced by nothing, so the rest
    /// of the value can still be checked.
    func substitute(_ text: String, source: SourceText) -> (LocatedString, [LocatedDiagnostic]) {
        let bytes = Array(text.utf8)
        guard bytes.firstRange(of: Self.prefix) != nil else { return (LocatedString(text, source: source), []) }
        var output: [UInt8] = []
        var substitutions: [LocatedString.Substitution] = []
        var diagnostics: [LocatedDiagnostic] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i...].starts(with: Self.prefix) else {
                output.append(bytes[i])
                i += 1
                continue
            }
            let start = i
            let nameStart = i + Self.prefix.count
            guard let close = bytes[nameStart...].firstIndex(of: UInt8(ascii: "}")) else {
                diagnostics.append(
                    Self.diagnostic(
                        "env-syntax", "unterminated '${env:' reference", start, nameStart, source,
                        help: "close it with '}'"))
                substitutions.append(
                    LocatedString.Substitution(
                        variable: "", sourceRange: SourceRange(start: start, end: bytes.count),
                        valueRange: SourceRange(at: output.count)))
                break
            }
            let inner = bytes[nameStart..<close]
            let separator = inner.firstRange(of: Array(":-".utf8))
            let nameBytes = separator.map { inner[..<$0.lowerBound] } ?? inner
            let name = String(decoding: nameBytes, as: UTF8.self)
            let fallback = separator.map { String(decoding: inner[$0.upperBound...], as: UTF8.self) }
            // A reference that could not be resolved still records where it stood, with an empty value.
            func recordUnresolved() {
                substitutions.append(
                    LocatedString.Substitution(
                        variable: name, sourceRange: SourceRange(start: start, end: close + 1),
                        valueRange: SourceRange(at: output.count)))
            }
            guard Self.isValidName(nameBytes) else {
                diagnostics.append(
                    Self.diagnostic(
                        "env-syntax", "invalid environment variable name in '${env:…}'", nameStart,
                        nameStart + nameBytes.count, source,
                        help: "names are letters, digits and '_', not starting with a digit"))
                recordUnresolved()
                i = close + 1
                continue
            }
            var value = environment[name]
            if let fallback, value?.isEmpty ?? true { value = fallback }
            guard let value else {
                diagnostics.append(
                    Self.diagnostic(
                        "env", "environment variable '\(name)' is not set", start, close + 1, source,
                        help: "set it, or give a default: ${env:\(name):-default}"))
                recordUnresolved()
                i = close + 1
                continue
            }
            let valueStart = output.count
            output.append(contentsOf: value.utf8)
            substitutions.append(
                LocatedString.Substitution(
                    variable: name, sourceRange: SourceRange(start: start, end: close + 1),
                    valueRange: SourceRange(start: valueStart, end: output.count)))
            i = close + 1
        }
        let value = String(decoding: output, as: UTF8.self)
        return (LocatedString(value, source: source, substitutions: substitutions), diagnostics)
    }

    /// Whether `bytes` spell a variable name: `[A-Za-z_][A-Za-z0-9_]*`.
    static func isValidName(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let first = bytes.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                true
            default: false
            }
        }
    }

    /// A diagnostic about bytes `start..<end` of the original text.
    static func diagnostic(
        _ code: String, _ message: String, _ start: Int, _ end: Int, _ source: SourceText, help: String
    ) -> LocatedDiagnostic {
        LocatedDiagnostic(
            Diagnostic(code, message, at: SourceRange(start: start, end: end), help: help), source: source)
    }
}
