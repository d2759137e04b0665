/// An HTTP answer that is worth retrying (429, 5xx, …): the runtime retries the invocation.
///
/// For example:
/// ```swift
/// let response = try await http.send(request, deadline: invocation.deadline)
/// try HTTPStatusError.check(response.status, service: "the webhook", retrying: [408, 429])
/// ```
public struct HTTPStatusError: Error, Sendable, CustomStringConvertible {
    /// Who answered, for the message: "the webhook", "the SMS provider".
    public var service: String
    /// The status code.
    public var status: Int

    public var description: String { "\(service) answered HTTP \(status)" }

    /// Returns for a 2xx `status`; throws `HTTPStatusError` for 5xx and the statuses in
    /// `retrying`, and ``PermanentHandlerError`` for any other (naming `detail` when given).
    public static func check(_ status: Int, service: String, retrying: Set<Int>, detail: String? = nil) throws {
        if (200..<300).contains(status) { return }
        if (500..<600).contains(status) || retrying.contains(status) {
            throw HTTPStatusError(service: service, status: status)
        }
        throw PermanentHandlerError(
            "\(service) refused the request: HTTP \(status)\(detail.map { ", \($0)" } ?? "")")
    }
}
