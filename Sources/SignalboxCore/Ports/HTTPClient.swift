/// An HTTP request a handler sends.
public struct OutgoingHTTPRequest: Sendable, Hashable {
    /// `POST`, `GET`, …
    public var method: String
    /// An absolute `http` or `https` URL.
    public var url: String
    /// Header fields, in order.
    public var headers: [HeaderField]
    /// The body.
    public var body: [UInt8]

    /// One header field.
    public struct HeaderField: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A request.
    public init(method: String = "POST", url: String, headers: [HeaderField] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// The response to an ``OutgoingHTTPRequest``.
public struct HTTPResponseReceived: Sendable, Hashable {
    /// The status code.
    public var status: Int
    /// Header fields, in order.
    public var headers: [OutgoingHTTPRequest.HeaderField]
    /// The body (handlers read at most what they need).
    public var body: [UInt8]

    /// A response.
    public init(status: Int, headers: [OutgoingHTTPRequest.HeaderField] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Outgoing HTTP for handlers.
public protocol HTTPClient: Sendable {
    /// Sends `request`; throws when no response arrives before `deadline` or the connection fails.
    func send(_ request: OutgoingHTTPRequest, deadline: ContinuousClock.Instant) async throws -> HTTPResponseReceived
}
