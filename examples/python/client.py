"""funnel from Python, with stubs generated from proto/ (grpcio-tools).

    python -m grpc_tools.protoc -I proto --python_out=OUT --grpc_python_out=OUT \
        proto/funnel/v1/*.proto
    PYTHONPATH=OUT python examples/python/client.py --addr 127.0.0.1:50051 \
        --robot-token "$ROBOT_TOKEN" --admin-token "$ADMIN_TOKEN" \
        --region east --branch east-sh-pudong

Submits one hand-written call as the robot (retrying UNAVAILABLE with the
same interaction id, which the server answers with the recorded result),
reads the model in use, then the funnel report of today as an admin. Prints
one JSON line per step; exits 1 on any error.
"""

import argparse
import json
import sys
import time
import uuid

import grpc

from funnel.v1 import admin_pb2, admin_pb2_grpc, cockpit_pb2, common_pb2, intake_pb2, intake_pb2_grpc


def call(fn, request, token, attempts=3):
    """One RPC with the bearer token; a lost answer is retried as is."""
    for attempt in range(1, attempts + 1):
        try:
            return fn(request, metadata=[("authorization", "Bearer " + token)], timeout=10)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE or attempt == attempts:
                raise
            time.sleep(0.2 * attempt)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", required=True)
    p.add_argument("--robot-token", required=True)
    p.add_argument("--admin-token", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--branch", required=True)
    p.add_argument("--campaign", default="cmp-python-example")
    a = p.parse_args()

    channel = grpc.insecure_channel(a.addr)
    intake = intake_pb2_grpc.IntakeServiceStub(channel)
    admin = admin_pb2_grpc.AdminServiceStub(channel)

    C, R = common_pb2.SPEAKER_CUSTOMER, common_pb2.SPEAKER_ROBOT
    interaction = common_pb2.Interaction(
        interaction_id="py-" + uuid.uuid4().hex,
        customer_id="py-cust-" + uuid.uuid4().hex[:12],
        campaign_id=a.campaign,
        product=common_pb2.PRODUCT_WEALTH,
        region_id=a.region,
        branch_id=a.branch,
        turns=[
            common_pb2.Turn(speaker=R, text="您好，这里是银行的理财服务，最近有一款稳健型理财产品，想跟您介绍一下。"),
            common_pb2.Turn(speaker=C, text="哦，收益大概多少？我手上有一笔定期下个月到期。"),
            common_pb2.Turn(speaker=R, text="业绩比较基准在百分之三左右，可以请理财经理给您详细讲讲。"),
            common_pb2.Turn(speaker=C, text="可以，让理财经理这周给我打个电话吧，我想去网点当面聊聊。"),
        ],
        features=common_pb2.CustomerFeatures(aum_band=4, age_band=3, tenure_years=6.5, products_held=2),
    )
    request = intake_pb2.SubmitInteractionRequest(interaction=interaction)
    submitted = call(intake.SubmitInteraction, request, a.robot_token)
    again = call(intake.SubmitInteraction, request, a.robot_token)
    print(json.dumps({
        "step": "submit",
        "lead_id": submitted.lead_id,
        "bucket": common_pb2.Bucket.Name(submitted.score.bucket),
        "probability": round(submitted.score.probability, 4),
        "destination": common_pb2.DestinationKind.Name(submitted.destination.kind),
        "replay_same_lead": again.lead_id == submitted.lead_id and again.replayed,
    }, ensure_ascii=False))

    model = call(admin.GetModelInfo, admin_pb2.GetModelInfoRequest(), a.robot_token)
    print(json.dumps({"step": "model", "model_version": model.model_version}))

    report = call(admin.GetFunnelReport, cockpit_pb2.GetFunnelReportRequest(
        group_by=cockpit_pb2.FUNNEL_GROUPING_REGION, region_ids=[a.region]), a.admin_token)
    print(json.dumps({
        "step": "report",
        "from_date": report.from_date,
        "ingested": report.total.counts.ingested,
        "rows": [r.group for r in report.rows],
    }))

    try:
        call(admin.GetFunnelReport, cockpit_pb2.GetFunnelReportRequest(
            group_by=cockpit_pb2.FUNNEL_GROUPING_REGION), a.robot_token)
        print(json.dumps({"step": "robot_report", "refused": False}))
    except grpc.RpcError as e:
        print(json.dumps({"step": "robot_report", "refused": e.code().name}))


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as e:
        print(f"error: {e.code().name}: {e.details()}", file=sys.stderr)
        sys.exit(1)
