import Hummingbird
import NIOCore

/// The most a route reads of a request body, and the error for a larger one.
struct BodyLimit: Sendable {
    /// The largest body, in bytes.
    var bytes: Int
    /// The reply to a larger one.
    var error: APIError
    /// Called when a body is refused as too large (to count it).
    var onRefusal: @Sendable () -> Void = {}
}

/// Reads the body, at most ``BodyLimit/bytes`` of it, into ``SignalboxRequestContext/body`` and checks it
/// against the signature that covers it.
struct BodyMiddleware: SignalboxMiddleware {
    let limit: BodyLimit

    func handle(_ request: Request, context: Context, next: Next) async throws -> Response {
        var context = context
        context.body = try await collect(request)
        try context.credentials?.verify(body: context.body)
        return try await next(request, context)
    }

    private func collect(_ request: Request) async throws(APIError) -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit.bytes {
            limit.onRefusal()
            throw limit.error
        }
        do {
            let buffer = try await request.body.collect(upTo: limit.bytes)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            limit.onRefusal()
            throw limit.error
        } catch {
            throw APIError.badRequest("The request body could not be read")
        }
    }
}

/// Gives a publish a place in the ingest gate before its body is read, so at most the gate's limit of
/// publish bodies are in memory at once (and one principal's share of them); one that would be refused
/// is refused unread (429), and its body is discarded as it arrives.
struct IngestGateMiddleware: SignalboxMiddleware {
    let runtime: RuntimeDependencies

    func handle(_ request: Request, context: Context, next: Next) async throws -> Response {
        let credentials = context.credentials
        let share: IngestGate.Share =
            credentials.map { $0.isProven ? .principal($0.principal) : .unverified } ?? .unverified
        guard runtime.ingest?.isFull != true, runtime.ingestGate.enter(share) else {
            throw runtime.overloaded(retryAfter: 1)
        }
        defer { runtime.ingestGate.leave(share) }
        return try await next(request, context)
    }
}
