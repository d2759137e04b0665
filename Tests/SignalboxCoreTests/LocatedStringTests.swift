import SignalboxCore
import SignalboxSQL
import Testing

struct LocatedStringTests {
    /// `a ${env:X} b ${env:LONG_NAME}` with X=12345 and LONG_NAME="" → `a 12345 b `.
    static let located: LocatedString = {
        let original = "a ${env:X} b ${env:LONG_NAME}"
        return LocatedString(
            "a 12345 b ", source: SourceText(name: "rules.yaml", text: original),
            substitutions: [
                .init(
                    variable: "X", sourceRange: SourceRange(start: 2, end: 10),
                    valueRange: SourceRange(start: 2, end: 7)),
                .init(
                    variable: "LONG_NAME", sourceRange: SourceRange(start: 13, end: 29),
                    valueRange: SourceRange(start: 10, end: 10)),
            ])
    }()

    @Test(arguments: [
        (0..<1, 0..<1),  // before any substitution
        (2..<7, 2..<10),  // exactly the substituted value → the whole reference
        (3..<4, 2..<10),  // inside it
        (8..<9, 11..<12),  // between the two: shifted by the first's growth
        (0..<10, 0..<13),  // across the first, up to the (empty) second
        (10..<10, 29..<29),  // at the empty value at the end → after the reference
    ])
    func mapsValueRangesToTheOriginalText(value: Range<Int>, source: Range<Int>) {
        let mapped = Self.located.sourceRange(for: SourceRange(start: value.lowerBound, end: value.upperBound))
        #expect(mapped == SourceRange(start: source.lowerBound, end: source.upperBound))
    }

    @Test func diagnosticsInsideASubstitutedValueDoNotShowIt() {
        let diagnostic = Diagnostic("parse", "unexpected '12345'", at: SourceRange(start: 3, end: 5))
        let located = Self.located.diagnostic(diagnostic)
        #expect(located.message == "the value of environment variable 'X' is not valid here (parse error)")
        #expect(located.diagnostic.range == SourceRange(start: 2, end: 10))
        #expect(!located.rendered().contains("12345"))
    }

    @Test func diagnosticsOutsideSubstitutionsKeepTheirMessage() {
        let located = Self.located.diagnostic(Diagnostic("parse", "unexpected 'b'", at: SourceRange(start: 8, end: 9)))
        #expect(located.message == "unexpected 'b'")
        #expect(located.diagnostic.range == SourceRange(start: 11, end: 12))
    }

    @Test func endOfInputInTrailingWhitespaceMovesToTheLastWord() {
        let sql = LocatedString("SELECT a FROM 'x' WHERE\n\n")
        let located = sql.diagnostic(Diagnostic("parse", "expected an expression", at: SourceRange(at: 25)))
        #expect(located.diagnostic.range == SourceRange(at: 23))
    }
}
