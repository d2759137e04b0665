/// The pattern letters of the Joda-Time and `java.time` date formats, which both spell a field as a
/// run of one ASCII letter (`yyyy`, `MM`) and take every other character as a literal.
enum PatternLetters {
    /// Whether `c` is a pattern letter (an ASCII letter).
    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        c.isASCII && (c.value | 0x20) &- 97 < 26
    }

    /// The length of the run of `scalars[i]` starting at `i`; moves `i` past it.
    static func run(in scalars: [Unicode.Scalar], at i: inout Int) -> Int {
        var count = 1
        while i + count < scalars.count && scalars[i + count] == scalars[i] { count += 1 }
        i += count
        return count
    }
}
