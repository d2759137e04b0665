/// Calendar arithmetic on the proleptic Gregorian calendar (ISO 8601), without Foundation.
///
/// Days are counted from 1970-01-01; years are proleptic (year 0 is 1 BC).
enum CivilTime {
    /// Milliseconds in a day.
    static let millisPerDay: Int64 = 86_400_000

    /// Days since 1970-01-01 of a date (month 1…12, day 1…31). From Howard Hinnant's `days_from_civil`.
    static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day count since 1970-01-01. From Howard Hinnant's `civil_from_days`.
    static func date(days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Whether `year` is a leap year.
    static func isLeap(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// The number of days in a month.
    static func daysInMonth(year: Int64, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// ISO day of week of a day count: 1 = Monday … 7 = Sunday.
    static func dayOfWeek(days: Int64) -> Int {
        Int(((days + 3) % 7 + 7) % 7) + 1
    }

    /// `a` divided by `b`, rounded toward negative infinity.
    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// The calendar fields of a local time in milliseconds since 1970-01-01T00:00 (local).
    struct Fields {
        /// The proleptic year (0 is 1 BC).
        var year: Int64
        /// 1 … 12.
        var month: Int
        /// Day of the month, 1 … 31.
        var day: Int
        /// 0 … 23.
        var hour: Int
        /// 0 … 59.
        var minute: Int
        /// 0 … 59.
        var second: Int
        /// 0 … 999.
        var millisecond: Int
        /// 1 … 366.
        var dayOfYear: Int
        /// 1 = Monday … 7 = Sunday.
        var dayOfWeek: Int
        /// Days since 1970-01-01.
        var days: Int64

        /// The fields of `localMillis`.
        init(localMillis: Int64) {
            let days = CivilTime.floorDivide(localMillis, CivilTime.millisPerDay)
            let millisOfDay = Int(localMillis - days * CivilTime.millisPerDay)
            let date = CivilTime.date(days: days)
            self.year = date.year
            self.month = date.month
            self.day = date.day
            self.hour = millisOfDay / 3_600_000
            self.minute = millisOfDay / 60_000 % 60
            self.second = millisOfDay / 1000 % 60
            self.millisecond = millisOfDay % 1000
            self.dayOfYear = Int(days - CivilTime.days(year: date.year, month: 1, day: 1)) + 1
            self.dayOfWeek = CivilTime.dayOfWeek(days: days)
            self.days = days
        }

        /// The ISO week-based year and week of that year.
        var isoWeek: (weekYear: Int64, week: Int) {
            let thursday = days + Int64(4 - dayOfWeek)
            let thursdayYear = CivilTime.date(days: thursday).year
            let dayOfYear = thursday - CivilTime.days(year: thursdayYear, month: 1, day: 1)
            return (thursdayYear, Int(dayOfYear / 7) + 1)
        }
    }
}
