/*
 * statsd_load.c — the statsd bench's bounded sender: LINES lines over
 * UDP to 127.0.0.1:PORT, PER lines a datagram, cycling over SERIES
 * distinct names (70% counters "|c" of 1, 20% gauges, 10% timers "|ms"),
 * paced at RATE datagrams a second (a busy-wait on the monotonic clock,
 * one millisecond's share at a time). The same lines for every server.
 *
 *     statsd_load PORT [LINES PER SERIES RATE]   (1000000 20 10000 20000)
 *
 * Prints what it sent: "sent L lines in D datagrams, C counter lines
 * (sum C), in S s". Bounded in count; gives up after 10x the planned time.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: statsd_load PORT [LINES PER SERIES RATE]\n");
        return 64;
    }
    int port = atoi(argv[1]);
    long lines = argc > 2 ? atol(argv[2]) : 1000000;
    int per = argc > 3 ? atoi(argv[3]) : 20;
    long series = argc > 4 ? atol(argv[4]) : 10000;
    double rate = argc > 5 ? atof(argv[5]) : 20000;
    if (port <= 0 || lines <= 0 || per <= 0 || series <= 0 || rate <= 0)
        return 64;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("statsd_load: socket");
        return 69;
    }
    char buf[65536];
    long sent = 0, dgrams = 0, counters = 0;
    double t0 = now(), give_up = t0 + 10 * ((double)lines / per / rate) + 5;
    while (sent < lines) {
        size_t n = 0;
        for (int i = 0; i < per && sent < lines; i++, sent++) {
            long s = sent % series, k = sent / series;
            int kind = (int)(s % 10);
            if (kind < 7) {
                n += (size_t)snprintf(buf + n, sizeof buf - n, "bench.metric_%05ld:1|c\n", s);
                counters++;
            } else if (kind < 9) {
                n += (size_t)snprintf(buf + n, sizeof buf - n, "bench.metric_%05ld:%ld|g\n",
                                      s, k % 1000);
            } else {
                n += (size_t)snprintf(buf + n, sizeof buf - n, "bench.metric_%05ld:%ld|ms\n",
                                      s, (k * 7) % 500);
            }
        }
        /* pace: datagram d leaves no earlier than t0 + d / rate */
        double due = t0 + (double)dgrams / rate;
        while (now() < due)
            ;
        if (send(fd, buf, n, 0) < 0)
            perror("statsd_load: send");
        dgrams++;
        if (now() > give_up) {
            fprintf(stderr, "statsd_load: gave up after %ld lines\n", sent);
            break;
        }
    }
    printf("sent %ld lines in %ld datagrams, %ld counter lines, in %.2f s\n", sent, dgrams,
           counters, now() - t0);
    close(fd);
    return 0;
}
