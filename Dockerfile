# syntax=docker/dockerfile:1
# One image for every role: the chart passes the role as the argument (`barrage homepage`).
# ko builds the same image from .ko.yaml; this file is for users without ko. CI builds its
# own FROM scratch with ci/image, since it can pull no base.
#   docker build --build-arg VERSION=0.1.0 -t ghcr.io/barrage-live/barrage:0.1.0 .
# Function Compute pulls only from Alibaba's registry (ACR), so tag and push there too:
#   docker tag ghcr.io/barrage-live/barrage:0.1.0 registry.<region>.aliyuncs.com/<namespace>/barrage:0.1.0
#   docker push registry.<region>.aliyuncs.com/<namespace>/barrage:0.1.0

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Shown on the page; the chart's appVersion or the release tag.
ARG VERSION=dev
# Pure Go (SQLite through modernc.org), so a static binary for a distroless base.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X github.com/barrage-live/barrage/internal/app.Version=${VERSION}" -o /out/barrage ./cmd/barrage

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/barrage /ko-app/barrage
# Numeric, so Kubernetes can check runAsNonRoot.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/ko-app/barrage"]
