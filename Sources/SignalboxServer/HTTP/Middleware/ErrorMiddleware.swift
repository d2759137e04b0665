import Hummingbird
import Logging

/// The outermost middleware: every error becomes an AWS-shaped reply (``APIError``), an unmatched
/// path a 404 of that shape, anything unexpected a 500 that says nothing of its cause; each outcome
/// is logged at debug level, without the path.
struct ErrorMiddleware: SignalboxMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: Next) async throws -> Response {
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            response = APIError.notFound("No endpoint at this path (\(request.method.rawValue))").response
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            response = APIError.internalFailure.response
        }
        logger.debug(
            "request handled",
            metadata: ["http.method": "\(request.method.rawValue)", "http.status": "\(response.status.code)"])
        return response
    }
}

/// Splits and decodes the request target into ``SignalboxRequestContext/target``: a malformed one is
/// refused (400) before any route runs.
struct TargetMiddleware: SignalboxMiddleware {
    func handle(_ request: Request, context: Context, next: Next) async throws -> Response {
        // The origin form (`/path?query`) only: anything else reaching here is a target the HTTP
        // parser could not split, which the router would read differently.
        guard let path = request.head.path, path.utf8.first == UInt8(ascii: "/") else {
            throw APIError.badRequest("The request target must be a path, like /things/{thing}/shadow")
        }
        var context = context
        context.target = try RequestTarget(path)
        return try await next(request, context)
    }
}
