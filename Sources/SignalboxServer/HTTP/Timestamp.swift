/// Times as the records API and CLI take and show them: milliseconds since the Unix epoch, or
/// RFC 3339 text.
///
/// For example:
/// ```swift
/// Timestamp.parse("1700000000000")              // 1700000000000
/// Timestamp.parse("2023-11-14T22:13:20Z")       // 1700000000000
/// Timestamp.parse("2023-11-14T23:13:20.5+01:00") // 1700000000500
/// Timestamp.parse("2023-11-14")                 // midnight UTC that day
/// Timestamp.format(1700000000000)               // "2023-11-14T22:13:20.000Z"
/// ```
package enum Timestamp {
    /// The milliseconds since the epoch that `text` names: an integer, or an RFC 3339 date-time
    /// (`T` or a space between date and time, optional fraction, `Z` or `±HH:MM`), or a date alone
    /// (midnight UTC); nil for anything else.
    package static func parse(_ text: String) -> Int64? {
        if let milliseconds = Int64(text) { return milliseconds }
        var reader = Reader(Array(text.utf8))
        guard let year = reader.digits(4), reader.take(UInt8(ascii: "-")), let month = reader.digits(2),
            reader.take(UInt8(ascii: "-")), let day = reader.digits(2),
            (1...12).contains(month), (1...daysInMonth(year: year, month: month)).contains(day)
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        if reader.atEnd { return days * 86_400_000 }
        guard reader.take(UInt8(ascii: "T")) || reader.take(UInt8(ascii: "t")) || reader.take(UInt8(ascii: " ")),
            let hour = reader.digits(2), reader.take(UInt8(ascii: ":")), let minute = reader.digits(2),
            reader.take(UInt8(ascii: ":")), let second = reader.digits(2),
            hour < 24, minute < 60, second < 61  // 60: a leap second, counted as the next one
        else { return nil }
        var milliseconds: Int64 = 0
        if reader.take(UInt8(ascii: ".")) {
            var scale: Int64 = 100
            var count = 0
            while let digit = reader.digit() {
                milliseconds += Int64(digit) * scale
                scale /= 10
                count += 1
            }
            guard count > 0 else { return nil }
        }
        var offsetMinutes: Int64 = 0
        if reader.take(UInt8(ascii: "Z")) || reader.take(UInt8(ascii: "z")) {
            offsetMinutes = 0
        } else {
            let sign: Int64
            if reader.take(UInt8(ascii: "+")) {
                sign = 1
            } else if reader.take(UInt8(ascii: "-")) {
                sign = -1
            } else {
                return nil
            }
            guard let offsetHour = reader.digits(2), reader.take(UInt8(ascii: ":")),
                let offsetMinute = reader.digits(2), offsetHour < 24, offsetMinute < 60
            else { return nil }
            offsetMinutes = sign * (offsetHour * 60 + offsetMinute)
        }
        guard reader.atEnd else { return nil }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        return seconds * 1000 + milliseconds
    }

    /// `milliseconds` since the epoch as RFC 3339 in UTC with milliseconds (`2023-11-14T22:13:20.000Z`).
    package static func format(_ milliseconds: Int64) -> String {
        let days = floorDivide(milliseconds, 86_400_000)
        let within = milliseconds - days * 86_400_000
        let (year, month, day) = civilFromDays(days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(within / 3_600_000, 2)):"
            + "\(pad(within / 60_000 % 60, 2)):\(pad(within / 1000 % 60, 2)).\(pad(within % 1000, 3))Z"
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shifted = month <= 2 ? year - 1 : year
        let era = floorDivide(shifted, 400)
        let yearOfEra = shifted - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day count since 1970-01-01 (the inverse of ``daysFromCivil(year:month:day:)``).
    static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    /// Reads ASCII digits and separators from the front of the text.
    struct Reader {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { position == bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        mutating func digit() -> Int? {
            guard position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 else { return nil }
            defer { position += 1 }
            return Int(bytes[position] - UInt8(ascii: "0"))
        }

        mutating func digits(_ count: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<count {
                guard let digit = digit() else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
    }
}
