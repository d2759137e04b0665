import HTTPTypes
import Hummingbird
import SignalboxCore
import SignalboxJSON

/// An error answered over HTTP the way AWS IoT answers: the status, an `x-amzn-ErrorType` header
/// with the exception name the SDKs raise, and a `{"message": "…"}` body.
///
/// Messages never carry request payload values or secrets.
package struct APIError: HTTPResponseError, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status.
    package var status: HTTPResponse.Status
    /// The exception name (`ConflictException`, …).
    package var exceptionName: String
    /// The user-facing message.
    package var message: String
    /// Seconds the client should wait before retrying, sent as `Retry-After`; nil sends none.
    package var retryAfter: Int?

    /// Creates an error.
    package init(_ status: HTTPResponse.Status, _ exceptionName: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.exceptionName = exceptionName
        self.message = message
        self.retryAfter = retryAfter
    }

    /// The shadow service's error, unchanged.
    package init(_ error: ShadowError) {
        self.init(.init(code: error.code.rawValue), error.code.exceptionName, error.message)
    }

    package var description: String { "\(status.code) \(exceptionName): \(message)" }

    /// 400 with `message`.
    package static func badRequest(_ message: String) -> APIError {
        APIError(.badRequest, "InvalidRequestException", message)
    }

    /// 401: missing, unknown, revoked or wrongly signed credentials.
    package static func unauthorized(_ message: String = "Unauthorized") -> APIError {
        APIError(.unauthorized, "UnauthorizedException", message)
    }

    /// 403: authenticated, but not allowed.
    package static let forbidden = APIError(.forbidden, "ForbiddenException", "Forbidden")

    /// 404 with `message`.
    package static func notFound(_ message: String) -> APIError {
        APIError(.notFound, "ResourceNotFoundException", message)
    }

    /// 405 for a known path.
    package static let methodNotAllowed = APIError(
        .methodNotAllowed, "MethodNotAllowedException", "The method is not allowed on this resource")

    /// 409 with `message`.
    package static func conflict(_ message: String) -> APIError {
        APIError(.conflict, "ConflictException", message)
    }

    /// 413: the request body is larger than the configured limit.
    package static let payloadTooLarge = APIError(
        ShadowError(.payloadTooLarge, "The payload exceeds the maximum size allowed"))

    /// 413 with `message`, which names the limit.
    package static func tooLarge(_ message: String) -> APIError {
        APIError(.contentTooLarge, "RequestEntityTooLargeException", message)
    }

    /// 429: too much load; retry after `seconds`.
    package static func throttled(_ message: String, retryAfter seconds: Int) -> APIError {
        APIError(.tooManyRequests, "ThrottlingException", message, retryAfter: seconds)
    }

    /// 503 with `message`, and `Retry-After` when `retryAfter` is given.
    package static func unavailable(_ message: String, retryAfter: Int? = nil) -> APIError {
        APIError(.serviceUnavailable, "ServiceUnavailableException", message, retryAfter: retryAfter)
    }

    /// 500, with nothing of the cause.
    package static let internalFailure = APIError(
        .internalServerError, "InternalFailureException", "Internal service failure")

    /// 503 while starting or stopping.
    package static let unavailable = APIError(.serviceUnavailable, "ServiceUnavailableException", "Service unavailable")

    /// The HTTP response (what Hummingbird answers when a handler throws this error).
    package func response(from request: Request, context: some RequestContext) -> Response { response }

    /// The HTTP response.
    package var response: Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[HTTPField.Name("x-amzn-ErrorType")!] = exceptionName  // a valid token, checked by the literal
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        let body = JSONSerializer.bytes(["message": .string(message)])
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The identity registry's error as HTTP.
    package init(_ error: IdentityError) {
        switch error {
        case .gatewayExists: self = .conflict(error.description)
        case .thingBoundElsewhere: self = .conflict(error.description)
        case .unknownGateway: self = .notFound(error.description)
        case .invalidName: self = .badRequest(error.description)
        }
    }
}
