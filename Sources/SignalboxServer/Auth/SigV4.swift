import Crypto

/// AWS Signature Version 4, computed exactly as botocore's `SigV4Auth` does for non-S3 services.
///
/// The canonical URI is the raw request path with dot segments and repeated slashes removed, then
/// URI-encoded *again* (so `%3A` becomes `%253A`); the canonical query string is the raw query's
/// `key=value` pairs, normalised to AWS encoding and sorted.
///
/// For example:
/// ```swift
/// let signature = SigV4.signature(
///     secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", date: "20150830", region: "us-east-1",
///     service: "service", stringToSign: text)
/// ```
package enum SigV4 {
    /// The only algorithm accepted.
    package static let algorithm = "AWS4-HMAC-SHA256"

    /// The parsed `Authorization` header.
    package struct Authorization: Sendable, Hashable {
        /// The access key id (the token id).
        package var accessKeyID: String
        /// `yyyymmdd`.
        package var date: String
        /// Any region name.
        package var region: String
        /// Any service name.
        package var service: String
        /// Lower-case header names, in the order given.
        package var signedHeaders: [String]
        /// Lower-case hex.
        package var signature: String

        /// `date/region/service/aws4_request`.
        package var scope: String { "\(date)/\(region)/\(service)/aws4_request" }

        /// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`; `nil` when malformed.
        package init?(header: String) {
            guard header.hasPrefix(SigV4.algorithm + " ") else { return nil }
            var fields: [Substring: Substring] = [:]
            for part in header.dropFirst(SigV4.algorithm.count + 1).split(separator: ",") {
                let trimmed = part.drop { $0 == " " }
                guard let equals = trimmed.firstIndex(of: "=") else { return nil }
                fields[trimmed[..<equals]] = trimmed[trimmed.index(after: equals)...].prefix { $0 != " " }
            }
            guard let credential = fields["Credential"], let signed = fields["SignedHeaders"],
                let signature = fields["Signature"]
            else { return nil }
            let scope = credential.split(separator: "/", omittingEmptySubsequences: false)
            guard scope.count == 5, scope[4] == "aws4_request", scope[1].count == 8,
                scope[1].allSatisfy(\.isASCIIDigit), !scope[0].isEmpty
            else { return nil }
            accessKeyID = String(scope[0])
            date = String(scope[1])
            region = String(scope[2])
            service = String(scope[3])
            signedHeaders = signed.split(separator: ";").map { $0.lowercased() }
            self.signature = signature.lowercased()
            guard !signedHeaders.isEmpty else { return nil }
        }
    }

    /// The canonical request.
    ///
    /// - Parameters:
    ///   - method: `GET`, `POST`, …
    ///   - rawPath: The path as sent, still percent-encoded.
    ///   - rawQuery: The query as sent (without `?`), or `nil`.
    ///   - headers: The value list of each signed header, by lower-case name.
    ///   - signedHeaders: The lower-case names, as the client listed them.
    ///   - payloadHash: Hex SHA-256 of the body (or the `X-Amz-Content-SHA256` value).
    package static func canonicalRequest(
        method: String, rawPath: String, rawQuery: String?, headers: [String: [String]], signedHeaders: [String],
        payloadHash: String
    ) -> String {
        let names = Array(Set(signedHeaders)).sorted()
        let canonicalHeaders = names.map { name in
            let values = headers[name] ?? []
            return name + ":" + values.map(trimAll).joined(separator: ",") + "\n"
        }.joined()
        return [
            method.uppercased(), canonicalURI(rawPath), canonicalQuery(rawQuery), canonicalHeaders,
            names.joined(separator: ";"), payloadHash,
        ].joined(separator: "\n")
    }

    /// The string to sign for `canonicalRequest`.
    package static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        [algorithm, amzDate, scope, hexSHA256(Array(canonicalRequest.utf8))].joined(separator: "\n")
    }

    /// The hex signature of `stringToSign` with the key derived from `secret`.
    package static func signature(
        secret: String, date: String, region: String, service: String, stringToSign: String
    ) -> String {
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    /// botocore's canonical URI: dot segments and empty segments removed, then every byte outside
    /// `A-Z a-z 0-9 - _ . ~ /` percent-encoded (including the `%` of existing escapes).
    package static func canonicalURI(_ rawPath: String) -> String {
        var segments: [Substring] = []
        for segment in rawPath.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty || segment == "." { continue }
            if segment == ".." {
                _ = segments.popLast()
            } else {
                segments.append(segment)
            }
        }
        var path = rawPath.hasPrefix("/") ? "/" : ""
        path += segments.joined(separator: "/")
        if rawPath.hasSuffix("/") && !segments.isEmpty { path += "/" }
        if path.isEmpty { path = "/" }
        return PercentEncoding.encode(path, keeping: "/")
    }

    /// The raw query's pairs, each part decoded and re-encoded AWS-style, sorted by key then value.
    package static func canonicalQuery(_ rawQuery: String?) -> String {
        guard let rawQuery, !rawQuery.isEmpty else { return "" }
        let pairs = rawQuery.split(separator: "&", omittingEmptySubsequences: false).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = normalise(parts[0])
            let value = parts.count > 1 ? normalise(parts[1]) : ""
            return (key, value)
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    private static func normalise(_ part: Substring) -> String {
        guard let bytes = PercentEncoding.decodeBytes(part) else { return String(part) }
        return PercentEncoding.encode(bytes, keeping: "")
    }

    /// Python's `' '.join(value.split())`: trims and collapses runs of whitespace.
    package static func trimAll(_ value: String) -> String {
        value.split(whereSeparator: { " \t\n\r\u{0B}\u{0C}".contains($0) }).joined(separator: " ")
    }

    /// Lower-case hex SHA-256.
    package static func hexSHA256(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Seconds since the Unix epoch of an `X-Amz-Date` (`yyyyMMdd'T'HHmmss'Z'`), or `nil`.
    package static func epochSeconds(amzDate: String) -> Int64? {
        let bytes = Array(amzDate.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146097 + dayOfEra - 719468
        return days * 86400 + hour * 3600 + minute * 60 + second
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
