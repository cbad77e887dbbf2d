# One image for web, workers and beat. torch==2.13.0 from PyPI is the CUDA build on Linux x86-64, which the
# gpu-worker needs; CPU-only hosts run the same image and grade on the CPU.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=learnpath.settings.production VAR_DIR=/var/lib/learnpath

RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap fonts-dejavu-core fonts-droid-fallback \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN mkdir -p "$VAR_DIR" && SECRET_KEY=build-only python manage.py collectstatic --noinput

EXPOSE 8000
CMD ["gunicorn", "learnpath.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
