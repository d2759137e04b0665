import SignalboxCore
import SignalboxSQL
import Testing

struct DurationSyntaxTests {
    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)),
        ("10s", .seconds(10)),
        ("5m", .seconds(300)),
        ("1h", .seconds(3_600)),
        ("2d", .seconds(172_800)),
        ("0s", .zero),
        ("1 h", .seconds(3_600)),
        (" 30s ", .seconds(30)),
        ("3650d", .seconds(315_360_000)),
    ])
    func parsesValidDurations(text: String, expected: Duration) throws {
        #expect(try DurationSyntax.parse(text) == expected)
    }

    @Test(arguments: [
        ("", "the duration is empty", 0..<0),
        ("10", "the duration has no unit", 2..<2),
        ("1hour", "unknown duration unit 'hour'", 1..<5),
        ("1 hour", "unknown duration unit 'hour'", 2..<6),
        ("10S", "unknown duration unit 'S'", 2..<3),
        ("1.5s", "durations are whole numbers", 1..<4),
        ("-1s", "a duration starts with a whole number", 0..<1),
        ("s", "a duration starts with a whole number", 0..<1),
        ("3651d", "the duration is too long", 0..<5),
        ("99999999999999999999s", "the duration is too long", 0..<21),
    ])
    func rejectsInvalidDurations(text: String, message: String, range: Range<Int>) {
        #expect {
            try DurationSyntax.parse(text)
        } throws: { error in
            guard let invalid = error as? DurationSyntax.Invalid else { return false }
            return invalid.message == message
                && invalid.range == SourceRange(start: range.lowerBound, end: range.upperBound)
        }
    }

    @Test(arguments: [
        ("1s..5m", Duration.seconds(1), Duration.seconds(300)),
        ("250ms..250ms", .milliseconds(250), .milliseconds(250)),
        ("5s", .seconds(5), .seconds(5)),
    ])
    func parsesBackoffRanges(text: String, lower: Duration, upper: Duration) throws {
        #expect(try DurationSyntax.parseRange(text) == lower...upper)
    }

    @Test(arguments: [
        ("5m..1s", "the backoff minimum is longer than its maximum", 0..<6),
        ("1s..5x", "unknown duration unit 'x'", 5..<6),
        ("..5m", "the duration is empty", 0..<0),
    ])
    func rejectsInvalidRanges(text: String, message: String, range: Range<Int>) {
        #expect {
            try DurationSyntax.parseRange(text)
        } throws: { error in
            guard let invalid = error as? DurationSyntax.Invalid else { return false }
            return invalid.message == message
                && invalid.range == SourceRange(start: range.lowerBound, end: range.upperBound)
        }
    }

    @Test(arguments: [
        (Duration.milliseconds(250), "250ms"),
        (.milliseconds(1_500), "1500ms"),
        (.seconds(90), "90s"),
        (.seconds(300), "5m"),
        (.seconds(3_600), "1h"),
        (.seconds(86_400), "1d"),
        (.zero, "0s"),
    ])
    func formatsInTheLargestExactUnit(duration: Duration, expected: String) throws {
        #expect(DurationSyntax.format(duration) == expected)
        #expect(try DurationSyntax.parse(expected) == duration)
    }
}
