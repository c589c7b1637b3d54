package dev.vigil.gateway;

import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

/** {@code POST /v1/events}: JSON batch or NDJSON, optionally gzip/zstd encoded. */
public final class EventsEndpoint implements Endpoint {
    public static final String BATCH_ID_HEADER = "X-Vigil-Batch-Id";
    private final EventJsonParser parser;
    private final GatewayConfig.Limits limits;

    public EventsEndpoint(GatewayConfig.Limits limits) {
        this.limits = limits;
        this.parser = new EventJsonParser(limits);
    }

    @Override
    public String name() {
        return "events";
    }

    @Override
    public String kind() {
        return "event";
    }

    @Override
    public Decoded decode(IngestRequest req, long now) {
        boolean ndjson = isNdjson(req.header(HttpHeaderNames.CONTENT_TYPE));
        BodyDecoder.Encoding enc = BodyDecoder.encoding(req.header(HttpHeaderNames.CONTENT_ENCODING));
        if (enc == BodyDecoder.Encoding.SNAPPY) {
            throw new RequestException(415, "unsupported_encoding", "snappy is accepted only for remote write; use gzip or zstd");
        }
        String headerBatch = req.header(BATCH_ID_HEADER);
        EventJsonParser.Result r;
        if (enc == BodyDecoder.Encoding.IDENTITY) {
            // Parse straight over the body's bytes: no stream layers; one copy only when the body is
            // not a single heap array (a composite of received chunks usually is not).
            ByteBuf body = req.body();
            int len = body.readableBytes();
            if (len > limits.maxDecompressed()) {
                throw RequestException.tooLarge("decompressed_too_large", "body exceeds " + limits.maxDecompressed() + " bytes after decompression");
            }
            if (body.hasArray()) {
                r = parser.parse(body.array(), body.arrayOffset() + body.readerIndex(), len, ndjson, req.tenant(), headerBatch, now);
            } else {
                byte[] bytes = ByteBufUtil.getBytes(body, body.readerIndex(), len, false);
                r = parser.parse(bytes, 0, len, ndjson, req.tenant(), headerBatch, now);
            }
        } else {
            // closed here, not by the parser (which leaves its source open): the decompressor's native memory
            try (InputStream in = BodyDecoder.stream(new ByteBufInputStream(req.body().duplicate()), enc, limits.maxDecompressed())) {
                try {
                    r = parser.parse(in, ndjson, req.tenant(), headerBatch, now);
                } catch (RequestException e) {
                    if ("invalid_json".equals(e.code()) || "invalid_utf8".equals(e.code())) {
                        // The parser reads while the body inflates, so it may meet the garbage of a corrupt
                        // body before the decompressor's own check (gzip's CRC at the end) does: the body's
                        // real fault is then the encoding. Reading the rest (bounded by the cap) tells which;
                        // a body that inflates cleanly keeps the parse error and its position.
                        in.transferTo(java.io.OutputStream.nullOutputStream());
                    }
                    throw e;
                }
            } catch (java.io.IOException e) {
                // the stream reports corruption and the cap as RequestExceptions; this is only its close()
                throw RequestException.badRequest("unreadable_body", "cannot read body: " + e.getMessage());
            }
        }
        return new Decoded(List.of(), List.of(), r.rejections(), r.total(), r.batchId(), true, r.records());
    }

    static boolean isNdjson(String contentType) {
        if (contentType == null) {
            return false;
        }
        String ct = contentType.toLowerCase(Locale.ROOT);
        int semi = ct.indexOf(';');
        if (semi >= 0) {
            ct = ct.substring(0, semi);
        }
        ct = ct.trim();
        return switch (ct) {
            case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines" -> true;
            case "application/json", "text/json", "", "text/plain" -> false;
            default -> throw new RequestException(415, "unsupported_media_type",
                    "Content-Type '" + contentType + "' not accepted (application/json or application/x-ndjson)");
        };
    }

    @Override
    public FullHttpResponse success(IngestRequest req, Decoded d) {
        Map<String, Object> b = new LinkedHashMap<>();
        int status = 200;
        if (d.accepted() == 0 && d.total() > 0) {
            status = 400;
            b.put("error", "all_rejected");
            b.put("message", "no event of the batch is valid; nothing was written");
        }
        b.put("accepted", d.accepted());
        b.put("rejected", d.rejections().size());
        if (d.batchId() != null) {
            b.put("batch_id", d.batchId());
        }
        b.put("errors", HttpReplies.errorList(d.rejections()));
        if (d.rejections().size() > HttpReplies.MAX_LISTED_ERRORS) {
            b.put("errors_truncated", true);
        }
        return HttpReplies.json(status, b);
    }

    @Override
    public FullHttpResponse error(HttpHeaders h, RequestException e) {
        return HttpReplies.jsonError(e);
    }
}
