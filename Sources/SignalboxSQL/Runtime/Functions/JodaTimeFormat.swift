import SignalboxJSON
import Synchronization

/// A Joda-Time `DateTimeFormat` pattern, compiled for printing.
///
/// Letters: `G` era, `C` century of era, `Y` year of era, `x` week year, `w` week of week year,
/// `e` day of week (1 = Monday), `E` day name, `y` year, `D` day of year, `M` month, `d` day of month,
/// `a` AM/PM, `K` hour 0–11, `h` hour 1–12, `H` hour 0–23, `k` hour 1–24, `m` minute, `s` second,
/// `S` fraction of second, `z` zone name, `Z` offset or zone id. Text in single quotes is literal
/// (`''` is a quote); any other letter makes the pattern invalid. A run of N letters means at least
/// N digits, or the full name for text fields when N ≥ 4 (N ≥ 3 gives the month name).
struct JodaTimeFormat: Sendable {
    /// A numeric field.
    enum Field: Sendable {
        case centuryOfEra, yearOfEra, weekYear, weekOfWeekYear, dayOfWeek, year, dayOfYear, month, day
        case hourOfHalfday, clockHourOfHalfday, hourOfDay, clockHourOfDay, minute, second
    }

    /// One element of the pattern.
    enum Token: Sendable {
        /// Text copied as it is.
        case literal(String)
        /// A number with at least `minDigits` digits (zero-padded).
        case number(Field, minDigits: Int)
        /// The last two digits of a year (`yy`).
        case twoDigits(Field)
        /// `AD` or `BC`.
        case era
        /// `Jan` or `January`.
        case monthText(full: Bool)
        /// `Mon` or `Monday`.
        case dayText(full: Bool)
        /// `AM` or `PM`.
        case halfday
        /// Fraction of the second, to `digits` digits.
        case fraction(digits: Int)
        /// `PST` or `Pacific Standard Time`.
        case zoneName(full: Bool)
        /// `-0800` or `-08:00`.
        case offset(colon: Bool)
        /// `America/Los_Angeles`.
        case zoneID
    }

    /// The pattern's elements.
    let tokens: [Token]

    private static let cache = PatternCache<JodaTimeFormat> { JodaTimeFormat(pattern: $0) }

    /// The compiled `pattern` (cached), or nil if it is invalid.
    static func compiled(_ pattern: String) -> JodaTimeFormat? { cache.get(pattern) }

    /// Compiles `pattern`, or fails if it has a letter Joda-Time does not define.
    init?(pattern: String) {
        var tokens: [Token] = []
        let scalars = Array(pattern.unicodeScalars)
        var literal = ""
        func flush() {
            if !literal.isEmpty { tokens.append(.literal(literal)) }
            literal = ""
        }
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if c == "'" {
                // Quoted text; '' is a quote, inside or outside quotes.
                if i + 1 < scalars.count && scalars[i + 1] == "'" {
                    literal += "'"
                    i += 2
                    continue
                }
                i += 1
                while i < scalars.count {
                    if scalars[i] == "'" {
                        if i + 1 < scalars.count && scalars[i + 1] == "'" {
                            literal += "'"
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    literal.unicodeScalars.append(scalars[i])
                    i += 1
                }
                continue
            }
            guard PatternLetters.isLetter(c) else {
                literal.unicodeScalars.append(c)
                i += 1
                continue
            }
            let count = PatternLetters.run(in: scalars, at: &i)
            flush()
            switch c {
            case "G": tokens.append(.era)
            case "C": tokens.append(.number(.centuryOfEra, minDigits: count))
            case "Y": tokens.append(count == 2 ? .twoDigits(.yearOfEra) : .number(.yearOfEra, minDigits: count))
            case "x": tokens.append(count == 2 ? .twoDigits(.weekYear) : .number(.weekYear, minDigits: count))
            case "y": tokens.append(count == 2 ? .twoDigits(.year) : .number(.year, minDigits: count))
            case "w": tokens.append(.number(.weekOfWeekYear, minDigits: count))
            case "e": tokens.append(.number(.dayOfWeek, minDigits: count))
            case "E": tokens.append(.dayText(full: count >= 4))
            case "D": tokens.append(.number(.dayOfYear, minDigits: count))
            case "M": tokens.append(count >= 3 ? .monthText(full: count >= 4) : .number(.month, minDigits: count))
            case "d": tokens.append(.number(.day, minDigits: count))
            case "a": tokens.append(.halfday)
            case "K": tokens.append(.number(.hourOfHalfday, minDigits: count))
            case "h": tokens.append(.number(.clockHourOfHalfday, minDigits: count))
            case "H": tokens.append(.number(.hourOfDay, minDigits: count))
            case "k": tokens.append(.number(.clockHourOfDay, minDigits: count))
            case "m": tokens.append(.number(.minute, minDigits: count))
            case "s": tokens.append(.number(.second, minDigits: count))
            case "S": tokens.append(.fraction(digits: count))
            case "z": tokens.append(.zoneName(full: count >= 4))
            case "Z": tokens.append(count >= 3 ? .zoneID : .offset(colon: count == 2))
            default: return nil
            }
        }
        flush()
        self.tokens = tokens
    }

    /// `millis` (since the epoch) as local time in `zone`, formatted.
    func format(millis: Int64, zone: ZoneRules) -> String {
        let offset = zone.offset(atUTCMillis: millis)
        let fields = CivilTime.Fields(localMillis: millis + Int64(offset) * 1000)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for token in tokens {
            switch token {
            case .literal(let text): out.append(contentsOf: text.utf8)
            case .number(let field, let minDigits): Self.appendPadded(value(field, fields), minDigits, to: &out)
            case .twoDigits(let field):
                let v = value(field, fields)
                Self.appendPadded(((v % 100) + 100) % 100, 2, to: &out)
            case .era: out.append(contentsOf: (fields.year <= 0 ? "BC" : "AD").utf8)
            case .monthText(let full):
                let name = TimeFunctions.monthNames[fields.month - 1].utf8
                out.append(contentsOf: full ? name.prefix(name.count) : name.prefix(3))
            case .dayText(let full):
                let name = TimeFunctions.dayNames[fields.dayOfWeek - 1].utf8
                out.append(contentsOf: full ? name.prefix(name.count) : name.prefix(3))
            case .halfday: out.append(contentsOf: (fields.hour < 12 ? "AM" : "PM").utf8)
            case .fraction(let digits):
                let ms = fields.millisecond
                let three = [UInt8(48 + ms / 100), UInt8(48 + ms / 10 % 10), UInt8(48 + ms % 10)]
                out.append(contentsOf: three.prefix(digits))
                if digits > 3 { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits - 3)) }
            case .zoneName(let full):
                out.append(
                    contentsOf: (full ? zone.longName(atUTCMillis: millis) : zone.shortName(atUTCMillis: millis)).utf8)
            case .offset(let colon): ZoneRules.appendOffset(offset, colon: colon, to: &out)
            case .zoneID: out.append(contentsOf: zone.id.utf8)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func value(_ field: Field, _ f: CivilTime.Fields) -> Int64 {
        let yearOfEra = f.year <= 0 ? 1 - f.year : f.year
        switch field {
        case .centuryOfEra: return yearOfEra / 100
        case .yearOfEra: return yearOfEra
        case .weekYear: return f.isoWeek.weekYear
        case .weekOfWeekYear: return Int64(f.isoWeek.week)
        case .dayOfWeek: return Int64(f.dayOfWeek)
        case .year: return f.year
        case .dayOfYear: return Int64(f.dayOfYear)
        case .month: return Int64(f.month)
        case .day: return Int64(f.day)
        case .hourOfHalfday: return Int64(f.hour % 12)
        case .clockHourOfHalfday: return Int64(f.hour % 12 == 0 ? 12 : f.hour % 12)
        case .hourOfDay: return Int64(f.hour)
        case .clockHourOfDay: return Int64(f.hour == 0 ? 24 : f.hour)
        case .minute: return Int64(f.minute)
        case .second: return Int64(f.second)
        }
    }

    private static func appendPadded(_ value: Int64, _ minDigits: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // scratch for up to 20 digits
        withUnsafeMutableBytes(of: &digits) { raw in
            var i = raw.count
            repeat {
                i -= 1
                raw[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            let count = raw.count - i
            if count < minDigits { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: minDigits - count)) }
            out.append(contentsOf: raw[i...])
        }
    }
}
