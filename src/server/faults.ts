import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiError } from '../lib/errors.js';

export type FaultRenderer = (error: ApiError) => unknown;

/** Neutron: {"NeutronError": {"type", "message", "detail"}}. */
export const renderNeutronFault: FaultRenderer = (e) => ({ NeutronError: { type: e.type, message: e.message, detail: '' } });

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
};

/** Keystone: {"error": {"code", "message", "title"}}. */
export const renderKeystoneFault: FaultRenderer = (e) => ({
  error: { code: e.status, message: e.message, title: TITLES[e.status] ?? 'Error' },
});

/** Octavia (WSME): {"faultcode", "faultstring", "debuginfo"}. */
export const renderOctaviaFault: FaultRenderer = (e) => ({
  faultcode: e.status >= 500 ? 'Server' : 'Client',
  faultstring: e.message,
  debuginfo: null,
});

/** Barbican: {"code", "title", "description"}. */
export const renderBarbicanFault: FaultRenderer = (e) => ({ code: e.status, title: TITLES[e.status] ?? 'Error', description: e.message });

/** Makes every error inside this plugin's routes (and unknown paths under its prefix) come out in its API's format. */
export function useFaultFormat(app: FastifyInstance, render: FaultRenderer): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(apiError.status).send(render(apiError));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(render(new ApiError(404, 'HTTPNotFound', `The resource could not be found: ${request.method} ${request.url}`)));
  });
}

function toApiError(error: FastifyError): ApiError {
  if (error instanceof ApiError) return error;
  const status = error.statusCode;
  if (status && status >= 400 && status < 500) {
    const message =
      error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
        ? `Malformed request body: ${error.message}`
        : error.message;
    return new ApiError(status, status === 400 ? 'HTTPBadRequest' : 'HTTPError', message);
  }
  return new ApiError(500, 'HTTPInternalServerError', 'Request Failed: internal server error while processing your request.');
}
