#!/usr/bin/env python3
"""statsd clients for tests/e2e/test_statsd.c (a real client's sockets).

  statsd_send.py udp PORT FILE          FILE's bytes as one datagram
  statsd_send.py tcp PORT FILE          FILE's bytes over one TCP connection
  statsd_send.py stream PORT N SECS LINE   N datagrams of LINE over SECS seconds
"""
import socket
import sys
import time


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    addr = ("127.0.0.1", port)
    if mode == "udp":
        data = open(sys.argv[3], "rb").read()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = s.sendto(data, addr)
        assert sent == len(data), (sent, len(data))
    elif mode == "tcp":
        data = open(sys.argv[3], "rb").read()
        s = socket.create_connection(addr)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)                      # the server closes after the EOF
        s.close()
    elif mode == "stream":
        n, secs, line = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5].encode()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t0 = time.monotonic()
        for i in range(n):
            s.sendto(line, addr)
            ahead = t0 + secs * (i + 1) / n - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        print(n)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
