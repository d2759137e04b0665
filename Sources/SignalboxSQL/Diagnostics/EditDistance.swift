/// "Did you mean" suggestions by edit distance.
package enum Suggestion {
    /// The closest candidate to `name`, if one is close enough to be a plausible typo.
    package static func closest(to name: String, in candidates: some Sequence<String>) -> String? {
        let lowered = name.lowercased()
        var best: (String, Int)?
        for candidate in candidates {
            let distance = levenshtein(lowered, candidate.lowercased())
            if best == nil || distance < best!.1 { best = (candidate, distance) }  // best set on left side
        }
        guard let (candidate, distance) = best else { return nil }
        let limit = max(1, min(3, name.count / 3 + 1))
        return distance <= limit ? candidate : nil
    }

    /// The Levenshtein distance between two strings, by characters.
    package static func levenshtein(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
