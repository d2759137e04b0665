import Hummingbird

/// A request target split into its raw path, raw query, decoded segments and decoded query items.
package struct RequestTarget: Sendable {
    /// The path as sent.
    package var rawPath: String
    /// The query as sent, without `?`.
    package var rawQuery: String?
    /// The percent-decoded path segments, without the leading empty one.
    package var segments: [String]
    /// The percent-decoded query items; the last of repeated names wins.
    package var query: [String: String]

    /// The root, `/`, with no query.
    package init() {
        rawPath = "/"
        rawQuery = nil
        segments = []
        query = [:]
    }

    /// Splits and decodes `target` (`/things/a%3Ab/shadow?name=%24c`).
    ///
    /// - Throws: 400 for malformed percent-encoding or bytes that are not UTF-8.
    package init(_ target: String) throws(APIError) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        rawPath = String(parts[0])
        rawQuery = parts.count > 1 ? String(parts[1]) : nil
        var segments: [String] = []
        for segment in rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard let decoded = PercentEncoding.decode(segment) else {
                throw .badRequest("Malformed percent-encoding in the request path")
            }
            segments.append(decoded)
        }
        self.segments = segments
        var query: [String: String] = [:]
        for item in (rawQuery ?? "").split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = PercentEncoding.decode(pair[0]),
                let value = pair.count > 1 ? PercentEncoding.decode(pair[1]) : ""
            else {
                throw .badRequest("Malformed percent-encoding in the query string")
            }
            query[name] = value
        }
        self.query = query
    }
}

extension RequestTarget {
    /// The query item `name` as an integer in `range`, nil when absent.
    ///
    /// - Throws: 400 naming the item and the range when it is not such an integer.
    package func integer<Integer: FixedWidthInteger>(_ name: String, in range: ClosedRange<Integer>)
        throws(APIError) -> Integer?
    {
        guard let text = query[name] else { return nil }
        guard let value = Integer(text), range.contains(value) else {
            if range.lowerBound == 0 && range.upperBound == .max {
                throw APIError.badRequest("\(name) must be a non-negative integer")
            }
            throw APIError.badRequest("\(name) must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }
}
