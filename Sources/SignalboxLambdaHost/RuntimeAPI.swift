import HTTPTypes
import Hummingbird
import NIOCore

/// The Lambda Runtime API (version 2018-06-01) of one worker, over its ``WorkerChannel``:
/// `GET /2018-06-01/runtime/invocation/next`, `POST …/invocation/{id}/response`, `POST
/// …/invocation/{id}/error` and `POST …/init/error`, answered as Lambda answers them.
package enum RuntimeAPI {
    /// The largest response or error document a runtime client may post, as Lambda's synchronous
    /// invocation payload limit (6 MB).
    package static let maxPayloadBytes = 6 * 1024 * 1024

    /// The router of the API over `channel`, for the process `processID` alone (``OwnWorkerOnly``).
    static func router(
        _ channel: WorkerChannel, processID: @escaping @Sendable () -> Int32
    ) -> Router<RuntimeRequestContext> {
        let router = Router(context: RuntimeRequestContext.self)
        router.add(middleware: OwnWorkerOnly(processID: processID))
        let runtime = router.group("/2018-06-01/runtime")
        runtime.get("invocation/next") { _, _ in
            guard let invocation = await channel.next() else {
                // The worker is being stopped: Lambda's "container error", after which a runtime exits.
                return error(.internalServerError, "Runtime.Stopped", "The worker is stopping")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            headers[Header.requestID] = invocation.requestID
            headers[Header.deadline] = String(invocation.deadlineMilliseconds)
            headers[Header.functionARN] = invocation.invokedFunctionARN
            headers[Header.traceID] = invocation.traceID
            if let context = invocation.clientContext { headers[Header.clientContext] = context }
            return Response(
                status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: invocation.event)))
        }
        runtime.post("invocation/:id/response") { request, context in
            let id = try context.parameters.require("id")
            let body: [UInt8]
            do {
                body = try await payload(request)
            } catch let error as PayloadTooLarge {
                // As Lambda: the invocation fails with a function error, at once.
                _ = channel.fail(id, document: Array(error.document.utf8), errorType: "Function.ResponseSizeTooLarge")
                throw error
            }
            guard channel.respond(id, body: body) else { return invalidRequestID }
            return accepted
        }
        runtime.post("invocation/:id/error") { request, context in
            let body = try await payload(request)
            let type = request.headers[Header.errorType]
            guard channel.fail(try context.parameters.require("id"), document: body, errorType: type) else {
                return invalidRequestID
            }
            return accepted
        }
        runtime.post("init/error") { request, _ in
            channel.close(.initFailed(document: try await payload(request)))
            return accepted
        }
        return router
    }

    /// The headers of the Runtime API.
    package enum Header {
        package static let requestID = HTTPField.Name("Lambda-Runtime-Aws-Request-Id")!
        package static let deadline = HTTPField.Name("Lambda-Runtime-Deadline-Ms")!
        package static let functionARN = HTTPField.Name("Lambda-Runtime-Invoked-Function-Arn")!
        package static let traceID = HTTPField.Name("Lambda-Runtime-Trace-Id")!
        package static let clientContext = HTTPField.Name("Lambda-Runtime-Client-Context")!
        package static let errorType = HTTPField.Name("Lambda-Runtime-Function-Error-Type")!
    }

    /// The body of a post, at most ``maxPayloadBytes``.
    private static func payload(_ request: Request) async throws -> [UInt8] {
        do {
            return Array(try await request.body.collect(upTo: maxPayloadBytes).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw PayloadTooLarge()
        }
    }

    private struct PayloadTooLarge: HTTPResponseError {
        var status: HTTPResponse.Status { .contentTooLarge }
        func response(from request: Request, context: some RequestContext) throws -> Response {
            RuntimeAPI.jsonResponse(.contentTooLarge, document)
        }

        /// Lambda's error document for a response over the limit.
        var document: String {
            #"{"errorMessage":"Response payload size exceeded maximum allowed payload size (\#(RuntimeAPI.maxPayloadBytes) bytes).","errorType":"Function.ResponseSizeTooLarge"}"#
        }
    }

    private static var accepted: Response { jsonResponse(.accepted, #"{"status":"OK"}"#) }

    private static var invalidRequestID: Response { error(.badRequest, "InvalidRequestID", "Invalid request ID") }

    private static func error(_ status: HTTPResponse.Status, _ type: String, _ message: String) -> Response {
        jsonResponse(status, #"{"errorMessage":"\#(message)","errorType":"\#(type)"}"#)
    }

    private static func jsonResponse(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
