import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyUserAgent } from '../../../shared/src/normalize/common/useragent.ts';

describe('classifyUserAgent', () => {
  const table: [string | undefined, string, string?][] = [
    [
      'docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.5.0-1015-azure os/linux arch/amd64 UpstreamClient(Docker-Client/24.0.7 \\(linux\\))',
      'docker',
      '24.0.7',
    ],
    [
      'docker/17.03.2-ce go/go1.10.3 git-commit/f5ec1e2 kernel/4.14.65+ os/linux arch/amd64 UpstreamClient(Go-http-client/1.1)',
      'docker',
      '17.03.2-ce',
    ],
    ['docker/1.11.0-dev go/go1.5.2 os/linux arch/amd64', 'docker', '1.11.0-dev'],
    ['containerd/v1.7.13', 'containerd', 'v1.7.13'],
    ['cri-o/1.29.1 go/go1.21.6 os/linux arch/amd64', 'cri-o', '1.29.1'],
    ['buildkit/v0.12', 'buildkit', 'v0.12'],
    ['containers/5.16.1 (github.com/containers/image)', 'containers-image', '5.16.1'],
    ['libpod/4.9.3', 'podman', '4.9.3'],
    ['skopeo/1.14.0', 'skopeo', '1.14.0'],
    ['Buildah/1.33.7', 'buildah', '1.33.7'],
    ['kaniko/v1.23.0', 'kaniko', 'v1.23.0'],
    ['crane/v0.19.0', 'crane', 'v0.19.0'],
    ['go-containerregistry/v0.19.0', 'crane', 'v0.19.0'],
    ['Helm/3.14.2', 'helm', '3.14.2'],
    ['oras/1.1.0', 'oras', '1.1.0'],
    ['regctl/v0.6.1 (linux/amd64)', 'regctl', 'v0.6.1'],
    ['curl/8.15.0', 'curl', '8.15.0'],
    ['python-requests/2.31.0', 'python-requests', '2.31.0'],
    ['Go-http-client/1.1', 'go-http-client', '1.1'],
    ['kube-probe/1.29', 'kube-probe', '1.29'],
    ['harbor-registry-client', 'harbor'],
    ['Ruby', 'ruby'],
    ['a user agent', 'unknown'],
    ['', 'unknown'],
    [undefined, 'unknown'],
  ];
  for (const [ua, family, version] of table) {
    test(`${JSON.stringify(ua?.slice(0, 40))} → ${family}`, () => {
      assert.deepEqual(classifyUserAgent(ua), version === undefined ? { family } : { family, version });
    });
  }
});
