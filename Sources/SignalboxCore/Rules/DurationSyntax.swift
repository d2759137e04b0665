import SignalboxSQL

/// Durations as written in rules files: a whole number and a unit — `250ms`, `10s`, `5m`, `1h`, `1d`.
///
/// For example:
/// ```swift
/// try DurationSyntax.parse("5m")            // .seconds(300)
/// try DurationSyntax.parseRange("1s..5m")   // .seconds(1) ... .seconds(300)
/// DurationSyntax.format(.milliseconds(1500)) // "1500ms"
/// ```
package enum DurationSyntax {
    /// Why a duration could not be read; `range` is in bytes of the text.
    package struct Invalid: Error, Sendable, Hashable {
        /// What is wrong, naming the offending part.
        package var message: String
        /// How to fix it.
        package var help: String?
        /// The offending bytes of the text.
        package var range: SourceRange

        /// An error about `range` of the duration text.
        package init(_ message: String, help: String? = nil, at range: SourceRange) {
            self.message = message
            self.help = help
            self.range = range
        }
    }

    /// The units, longest spelling first, with their length in milliseconds.
    static let units: [(name: String, milliseconds: Int64)] = [
        ("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// The hint shown for a missing or unknown unit.
    static let unitHelp = "use ms, s, m, h or d, like 250ms, 10s, 5m, 1h"

    /// Parses one duration (`10s`).
    ///
    /// - Throws: ``Invalid`` for an empty text, a missing or unknown unit, a fraction or a value too large.
    package static func parse(_ text: String) throws(Invalid) -> Duration {
        try parse(text, offset: 0)
    }

    /// Parses a backoff range `MIN..MAX` (`1s..5m`); a single duration is a fixed backoff.
    ///
    /// - Throws: ``Invalid`` when either end is invalid or `MIN` is longer than `MAX`.
    package static func parseRange(_ text: String) throws(Invalid) -> ClosedRange<Duration> {
        let bytes = Array(text.utf8)
        guard let dots = findDots(bytes) else {
            let single = try parse(text, offset: 0)
            return single...single
        }
        let lower = String(decoding: bytes[..<dots], as: UTF8.self)
        let upper = String(decoding: bytes[(dots + 2)...], as: UTF8.self)
        let min = try parse(lower, offset: 0)
        let max = try parse(upper, offset: dots + 2)
        guard min <= max else {
            throw Invalid(
                "the backoff minimum is longer than its maximum", help: "write MIN..MAX, like 1s..5m",
                at: SourceRange(start: 0, end: bytes.count))
        }
        return min...max
    }

    /// Writes `duration` in the largest unit that represents it exactly (`90s`, `5m`, `250ms`).
    package static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        if milliseconds == 0 { return "0s" }
        for unit in units.reversed() where milliseconds % unit.milliseconds == 0 {
            return "\(milliseconds / unit.milliseconds)\(unit.name)"
        }
        return "\(milliseconds)ms"
    }

    /// Writes a backoff range: `1s..5m`.
    package static func format(_ range: ClosedRange<Duration>) -> String {
        "\(format(range.lowerBound))..\(format(range.upperBound))"
    }

    private static func findDots(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        for i in 0..<(bytes.count - 1) where bytes[i] == UInt8(ascii: ".") && bytes[i + 1] == UInt8(ascii: ".") {
            return i
        }
        return nil
    }

    private static func parse(_ text: String, offset: Int) throws(Invalid) -> Duration {
        let all = Array(text.utf8)
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        // Spaces around the duration and between the number and the unit are allowed: ` 1 h `.
        guard let first = all.firstIndex(where: { !isSpace($0) }), let last = all.lastIndex(where: { !isSpace($0) })
        else {
            throw Invalid(
                "the duration is empty", help: unitHelp, at: SourceRange(start: offset, end: offset + all.count))
        }
        let offset = offset + first
        var bytes = Array(all[first...last])
        let whole = SourceRange(start: offset, end: offset + bytes.count)
        var digits = 0
        while digits < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[digits]) { digits += 1 }
        if digits == 0 {
            throw Invalid(
                "a duration starts with a whole number", help: unitHelp,
                at: SourceRange(start: offset, end: offset + 1))
        }
        var unitStart = digits
        while unitStart < bytes.count, isSpace(bytes[unitStart]) { unitStart += 1 }
        let numberBytes = bytes[..<digits]
        bytes = Array(numberBytes) + bytes[unitStart...]
        let shift = unitStart - digits
        let unitBytes = bytes[digits...]
        let unitRange = SourceRange(start: offset + digits + shift, end: offset + bytes.count + shift)
        if unitBytes.first == UInt8(ascii: ".") {
            throw Invalid(
                "durations are whole numbers", help: "use a smaller unit, like 1500ms for 1.5s", at: unitRange)
        }
        let numberText = String(decoding: numberBytes, as: UTF8.self)
        if unitBytes.isEmpty {
            throw Invalid(
                "the duration has no unit", help: "add one, like \(numberText)s or \(numberText)m",
                at: SourceRange(start: offset + digits, end: offset + digits))
        }
        let unitName = String(decoding: unitBytes, as: UTF8.self)
        guard let unit = units.first(where: { $0.name == unitName }) else {
            throw Invalid("unknown duration unit '\(unitName)'", help: unitHelp, at: unitRange)
        }
        guard let number = Int64(numberText) else {
            throw Invalid("the duration is too long", at: whole)
        }
        let (milliseconds, overflow) = number.multipliedReportingOverflow(by: unit.milliseconds)
        // Stay far below Duration's range; ten years is plenty for timeouts, backoffs and throttles.
        guard !overflow, milliseconds <= 10 * 365 * 86_400_000 else {
            throw Invalid("the duration is too long", help: "the longest duration is 3650d", at: whole)
        }
        return .milliseconds(milliseconds)
    }
}
